"""The demo checks its stored figures against the data file itself."""

import io
from decimal import Decimal
from pathlib import Path

from comeback.local.datasets import examples_dir, read_cdnow
from comeback.local.demo import _print_summary, raw_file_figures


def test_the_sample_files_own_figures():
    orders = read_cdnow(examples_dir() / "CDNOW_sample.txt")
    figures = raw_file_figures(orders)
    assert figures["profiles"] == 2357 and figures["orders"] == 6919
    assert Decimal(figures["revenue"]) == Decimal("244091.94")


def test_a_mismatch_is_printed_loudly():
    report = {
        "events_accepted": 1,
        "events_rejected": 0,
        "profiles": 2,
        "orders": 1,
        "revenue": "1",
        "reminders_sent": 0,
        "winbacks_sent": 0,
        "skipped_no_consent": 0,
        "held_out": 0,
        "segments": {"champions": 1, "no order": 1},
        "predicted_revenue_next_year": "12.50",
        "emails_in_outbox": 0,
        "outbox": "out",
        "dead_letters": {},
        "seconds": 1,
        "raw_file": {"profiles": 1, "orders": 1, "revenue": "1"},
        "matches_raw_file": False,
    }
    out = io.StringIO()
    _print_summary(out, report, Path("out/demo-report.json"))
    assert "MISMATCH with the data file" in out.getvalue()
    report["matches_raw_file"] = True
    out = io.StringIO()
    _print_summary(out, report, Path("out/demo-report.json"))
    assert "match the data file" in out.getvalue()
    assert "champions 1, no order 1" in out.getvalue() and "$12.50" in out.getvalue()
