"""SES feedback: a hard bounce or a complaint stops email to that address for that shop.

A notification that cannot be read is logged, counted and dropped: it would fail the same
way on every retry, and a retried SNS delivery would only end in the dead-letter queue. A
failure to write (DynamoDB) is raised instead, so the invocation is retried and, failing
that, dead-lettered with the notification intact.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from comeback.domain.feedback import InvalidFeedback, parse_notification
from comeback.observability import logger


class SuppressionWriter(Protocol):
    """What this service needs of `comeback.adapters.suppressions.Suppressions`."""

    def suppress(self, shop_id: str, address: str, reason: str, at: datetime) -> bool: ...


@dataclass
class FeedbackResult:
    """What a batch of notifications did."""

    # Addresses newly suppressed, or moved to a stronger reason, by reason.
    suppressed: Counter[str] = field(default_factory=Counter)
    # Addresses already suppressed as strongly: a replayed notification, a second bounce.
    unchanged: int = 0
    # Notifications that suppress nobody: soft bounces, "not spam" reports, other events.
    ignored: int = 0
    # Notifications that could not be read: logged and dropped.
    skipped: int = 0

    def add(self, other: FeedbackResult) -> None:
        self.suppressed.update(other.suppressed)
        self.unchanged += other.unchanged
        self.ignored += other.ignored
        self.skipped += other.skipped

    def as_dict(self) -> dict[str, Any]:
        return {
            "suppressed": dict(self.suppressed),
            "unchanged": self.unchanged,
            "ignored": self.ignored,
            "skipped": self.skipped,
        }


def handle_notification(
    suppressions: SuppressionWriter, sns_message: str, now: datetime
) -> FeedbackResult:
    """Apply one SES notification (the `Message` of an SNS record)."""
    result = FeedbackResult()
    try:
        feedback = parse_notification(sns_message, received_at=now)
    except InvalidFeedback as error:
        # The error names what is missing, never the notification's content (addresses).
        logger.warning("SES notification skipped", error=str(error))
        result.skipped += 1
        return result
    if feedback.unreadable_recipients:
        logger.warning(
            "SES notification names recipients that are not addresses",
            event_type=feedback.event_type,
            ses_message_id=feedback.ses_message_id,
            unreadable=feedback.unreadable_recipients,
        )
    if not feedback.suppressions:
        result.ignored += 1
        logger.debug("SES notification suppresses nobody", event_type=feedback.event_type)
        return result
    for suppression in feedback.suppressions:
        changed = suppressions.suppress(
            suppression.shop_id, suppression.address, suppression.reason, suppression.at
        )
        if changed:
            result.suppressed[suppression.reason] += 1
        else:
            result.unchanged += 1
    logger.debug(
        "SES feedback applied",
        shop_id=feedback.suppressions[0].shop_id,
        event_type=feedback.event_type,
        message_kind=feedback.message_kind,
        ses_message_id=feedback.ses_message_id,
        **result.as_dict(),
    )
    return result
