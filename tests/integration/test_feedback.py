"""SES bounces and complaints through the real feedback handler, on the embedded AWS: the
suppression is recorded for the shop the message was sent for, and for no other."""

import itertools
import json
from datetime import UTC, datetime

import pytest
from comeback import wiring
from comeback.adapters.suppressions import Suppressions
from comeback.clock import iso
from comeback.domain.feedback import COMPLAINT, HARD_BOUNCE

from tests.feedback_events import BOUNCED_AT, bounce, complaint, shop_tags, sns_event, text
from tests.support import shop_items

# After the events in tests.feedback_events, so their own times are kept.
NOW = datetime(2024, 5, 3, 12, 0, tzinfo=UTC)


_shop_numbers = itertools.count(1)


@pytest.fixture
def shops(stack):
    """Two shop ids no other test uses; the clock then stands after the SES events.

    Suppressions need no shop item (the sender's tag names the shop), so none is created.
    """
    number = next(_shop_numbers)
    stack.clock.set(NOW)
    return f"feedback-{number}-a", f"feedback-{number}-b"


def suppressions(stack) -> Suppressions:
    return Suppressions(wiring.client("dynamodb"), stack.aws.table_name)


def deliver(stack, *events):
    """What SNS does with each notification SES publishes: invoke the function."""
    return stack.functions["feedback"].invoke(sns_event(*(text(e) for e in events)))


def test_a_hard_bounce_suppresses_the_address_in_its_shop_only(stack, shops):
    shop_a, shop_b = shops
    # Given an email of shop A's that bounced for good
    event = bounce(["Gone@Example.com"], tags=shop_tags(shop_a))
    # When SNS delivers SES's notification to the feedback function
    result = deliver(stack, event)
    # Then the address is suppressed for shop A, from the bounce's time on
    assert result == {"suppressed": {HARD_BOUNCE: 1}, "unchanged": 0, "ignored": 0, "skipped": 0}
    assert suppressions(stack).is_suppressed(shop_a, "gone@example.com") == HARD_BOUNCE
    (item,) = shop_items(stack, shop_a, "suppression")
    assert item["suppressed_at"] == BOUNCED_AT
    # But shop B may still email the same address
    assert suppressions(stack).is_suppressed(shop_b, "gone@example.com") is None
    assert shop_items(stack, shop_b, "suppression") == []


def test_the_record_keeps_no_address(stack, shops):
    shop_a, _ = shops
    deliver(stack, complaint(["private.person@example.com"], tags=shop_tags(shop_a)))
    (item,) = shop_items(stack, shop_a, "suppression")
    assert "private.person" not in json.dumps(item, default=str)
    assert item["reason"] == COMPLAINT


def test_replaying_a_notification_changes_nothing(stack, shops):
    shop_a, _ = shops
    event = bounce(["gone@example.com", "also.gone@example.com"], tags=shop_tags(shop_a))
    deliver(stack, event)
    before = shop_items(stack, shop_a, "suppression")
    # When SNS delivers the same notification again (it delivers at least once), later on
    stack.clock.set(NOW.replace(day=20))
    result = deliver(stack, event)
    # Then nothing is recorded twice or changed
    assert result == {"suppressed": {}, "unchanged": 2, "ignored": 0, "skipped": 0}
    assert shop_items(stack, shop_a, "suppression") == before
    assert len(before) == 2


def test_a_complaint_outranks_a_hard_bounce_and_the_first_time_is_kept(stack, shops):
    shop_a, _ = shops
    address = "person@example.com"
    tags = shop_tags(shop_a)
    deliver(stack, bounce([address], tags=tags))
    # When the same person later complains about an earlier message
    result = deliver(stack, complaint([address], tags=tags))
    # Then the reason becomes the complaint, from the time first recorded
    assert result["suppressed"] == {COMPLAINT: 1}
    assert suppressions(stack).is_suppressed(shop_a, address) == COMPLAINT
    (item,) = shop_items(stack, shop_a, "suppression")
    assert item["suppressed_at"] == BOUNCED_AT
    # And a bounce arriving after that does not turn the complaint back into a bounce
    assert deliver(stack, bounce([address], tags=tags))["unchanged"] == 1
    assert suppressions(stack).is_suppressed(shop_a, address) == COMPLAINT


def test_a_soft_bounce_suppresses_nobody(stack, shops):
    shop_a, _ = shops
    event = bounce(["full@example.com"], bounce_type="Transient", tags=shop_tags(shop_a))
    assert deliver(stack, event)["ignored"] == 1
    assert shop_items(stack, shop_a, "suppression") == []


def test_an_unreadable_notification_is_skipped_and_the_rest_of_the_batch_applied(stack, shops):
    shop_a, _ = shops
    # Given one notification that is not JSON, one without the shop tag, and a good one
    event = sns_event(
        "{this is not json",
        text(bounce(["untagged@example.com"])),
        text(bounce(["tagged@example.com"], tags=shop_tags(shop_a))),
    )
    # When they arrive together, then the function does not fail (no endless retries)...
    result = stack.functions["feedback"].invoke(event)
    # ...the bad ones are counted as skipped and the good one is applied
    assert result == {"suppressed": {HARD_BOUNCE: 1}, "unchanged": 0, "ignored": 0, "skipped": 2}
    assert suppressions(stack).is_suppressed(shop_a, "tagged@example.com") == HARD_BOUNCE
    assert suppressions(stack).is_suppressed(shop_a, "untagged@example.com") is None


def test_a_suppression_can_be_lifted(stack, shops):
    shop_a, _ = shops
    deliver(stack, bounce(["back@example.com"], tags=shop_tags(shop_a)))
    store = suppressions(stack)
    # When the person fixed their mailbox and the shop lifts the suppression
    assert store.lift(shop_a, "back@example.com") is True
    # Then the shop may email them again, and lifting twice changes nothing
    assert store.is_suppressed(shop_a, "back@example.com") is None
    assert store.lift(shop_a, "back@example.com") is False
    # And a new hard bounce suppresses them afresh, from its own time
    stack.clock.set(NOW.replace(day=20))
    later = bounce(["back@example.com"], tags=shop_tags(shop_a), timestamp=iso(NOW))
    assert deliver(stack, later)["suppressed"] == {HARD_BOUNCE: 1}
    (item,) = shop_items(stack, shop_a, "suppression")
    assert item["suppressed_at"] == iso(NOW)


def test_an_unknown_reason_is_refused(stack, shops):
    shop_a, _ = shops
    with pytest.raises(ValueError):
        suppressions(stack).suppress(shop_a, "x@example.com", "bored", NOW)
