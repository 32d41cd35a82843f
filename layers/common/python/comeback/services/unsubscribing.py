"""One-click unsubscribe (RFC 8058) from a signed link."""

from __future__ import annotations

from datetime import datetime

from comeback.adapters.store import Store
from comeback.domain.tokens import UnsubscribeClaim, verify_unsubscribe
from comeback.errors import NotFound
from comeback.models.profile import ConsentDecision


def check_token(token: str | None, key: bytes) -> UnsubscribeClaim:
    return verify_unsubscribe(token or "", key)


def unsubscribe(store: Store, claim: UnsubscribeClaim, now: datetime) -> None:
    """Withdraw consent for the link's channel at once; repeating it changes nothing more."""
    decision = ConsentDecision(granted=False, at=now, source="unsubscribe_link")
    if not store.record_consent(claim.shop_id, claim.profile_id, claim.channel, decision):
        raise NotFound("this person is no longer on file")
