"""Reading the real shop data the demo replays (see examples/data/README.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path


def examples_dir() -> Path:
    # layers/common/python/comeback/local/datasets.py -> the repository root
    return Path(__file__).resolve().parents[5] / "examples" / "data"


@dataclass(frozen=True)
class CdnowOrder:
    row: int  # 1-based line number of the order in its file, the order's stable id
    customer_id: str
    day: date
    cds: int
    value: Decimal


def read_cdnow(path: Path) -> list[CdnowOrder]:
    """CDNOW's master file (id, date, CDs, value) or the sample (id, index, date, CDs, value)."""
    orders: list[CdnowOrder] = []
    with path.open(encoding="ascii") as lines:
        for number, line in enumerate(lines, start=1):
            fields = line.split()
            if not fields or not fields[0].isdigit():
                continue  # the master file's header
            if len(fields) == 5:
                fields = [fields[0], *fields[2:]]
            if len(fields) != 4:
                raise ValueError(f"{path.name}:{number}: expected 4 or 5 columns")
            customer, day, cds, value = fields
            orders.append(
                CdnowOrder(
                    row=number,
                    customer_id=str(int(customer)),
                    day=datetime.strptime(day, "%Y%m%d").date(),
                    cds=int(cds),
                    value=Decimal(value),
                )
            )
    return orders


def share_of(key: str, percent: int) -> bool:
    """A deterministic choice of `percent`% of keys (stable across runs and machines)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100 < percent
