"""Applying SES notifications: what is recorded, counted and skipped (with a small fake
standing in for the suppressions table; tests/integration/test_feedback.py uses the real one)."""

from datetime import UTC, datetime

from comeback.domain.feedback import COMPLAINT, HARD_BOUNCE, SEVERITY
from comeback.services.feedback import FeedbackResult, handle_notification

from tests.feedback_events import bounce, complaint, shop_tags, text

NOW = datetime(2024, 5, 3, 12, 0, tzinfo=UTC)


class FakeSuppressions:
    """The adapter's rules in memory: a stronger reason replaces a weaker one only."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], str] = {}
        self.writes = 0

    def suppress(self, shop_id, address, reason, at) -> bool:
        self.writes += 1
        current = self.records.get((shop_id, address))
        if current is not None and SEVERITY[current] >= SEVERITY[reason]:
            return False
        self.records[(shop_id, address)] = reason
        return True


def test_a_hard_bounce_is_recorded_and_counted():
    fake = FakeSuppressions()
    message = text(bounce(["a@example.com", "b@example.com"], tags=shop_tags("shop-a")))
    result = handle_notification(fake, message, NOW)
    assert result.as_dict() == {
        "suppressed": {HARD_BOUNCE: 2},
        "unchanged": 0,
        "ignored": 0,
        "skipped": 0,
    }
    assert fake.records == {
        ("shop-a", "a@example.com"): HARD_BOUNCE,
        ("shop-a", "b@example.com"): HARD_BOUNCE,
    }


def test_a_replayed_notification_counts_as_unchanged():
    fake = FakeSuppressions()
    message = text(complaint(["a@example.com"], tags=shop_tags("shop-a")))
    handle_notification(fake, message, NOW)
    again = handle_notification(fake, message, NOW)
    assert again.suppressed == {}
    assert again.unchanged == 1
    assert fake.records == {("shop-a", "a@example.com"): COMPLAINT}


def test_a_soft_bounce_is_ignored_and_writes_nothing():
    fake = FakeSuppressions()
    message = text(bounce(["a@example.com"], bounce_type="Transient", tags=shop_tags("shop-a")))
    result = handle_notification(fake, message, NOW)
    assert (result.ignored, result.skipped, fake.writes) == (1, 0, 0)


def test_an_unreadable_notification_is_skipped_not_raised():
    # Given a notification the sender's tags are missing from, and one that is not JSON
    fake = FakeSuppressions()
    untagged = text(bounce(["a@example.com"]))
    # When each is handled, then neither raises (a retry could not fix them) nor writes
    results = [handle_notification(fake, m, NOW) for m in (untagged, "{not json")]
    assert [r.skipped for r in results] == [1, 1]
    assert fake.writes == 0


def test_results_add_up_across_a_batch():
    total = FeedbackResult()
    fake = FakeSuppressions()
    for message in (
        text(bounce(["a@example.com"], tags=shop_tags("shop-a"))),
        text(complaint(["a@example.com"], tags=shop_tags("shop-a"))),
        text(bounce(["a@example.com"], tags=shop_tags("shop-a"))),
        "nonsense",
    ):
        total.add(handle_notification(fake, message, NOW))
    assert total.as_dict() == {
        "suppressed": {HARD_BOUNCE: 1, COMPLAINT: 1},
        "unchanged": 1,
        "ignored": 0,
        "skipped": 1,
    }
