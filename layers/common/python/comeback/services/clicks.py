"""Tracked links: record the click on the message it came from, then send the person on."""

from __future__ import annotations

from datetime import datetime

from comeback.adapters.deliveries import record_click
from comeback.adapters.store import Store
from comeback.domain.tokens import ClickClaim, verify_click


def follow(store: Store, token: str | None, key: bytes, now: datetime) -> ClickClaim:
    """The link's claim (its target URL was signed by us); InvalidInput if forged."""
    claim = verify_click(token or "", key)
    record_click(store, claim.shop_id, claim.profile_id, claim.job_key, now)
    return claim
