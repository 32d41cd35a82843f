"""Reading SES bounce and complaint notifications into suppressions."""

from datetime import UTC, datetime

import pytest
from comeback.domain.feedback import (
    COMPLAINT,
    HARD_BOUNCE,
    InvalidFeedback,
    Suppression,
    message_tags,
    parse_notification,
)

from tests.feedback_events import as_identity_notification, bounce, complaint, shop_tags, text

RECEIVED = datetime(2024, 5, 3, 12, 0, tzinfo=UTC)
BOUNCED = datetime(2024, 5, 1, 9, 0, 3, 512_000, tzinfo=UTC)
COMPLAINED = datetime(2024, 5, 2, 18, 30, tzinfo=UTC)


def parse(event):
    return parse_notification(text(event), received_at=RECEIVED)


def test_a_permanent_bounce_suppresses_the_recipient_for_the_tagged_shop():
    # Given SES's event for a message to a mailbox that does not exist
    event = bounce(["gone@example.com"], tags=shop_tags("shop-a"))
    # When it is read
    feedback = parse(event)
    # Then that address is suppressed for that shop, as of the bounce
    assert feedback.suppressions == (
        Suppression(address="gone@example.com", reason=HARD_BOUNCE, at=BOUNCED, shop_id="shop-a"),
    )
    assert feedback.event_type == "Bounce"
    assert feedback.message_kind == "cart_recovery"
    assert feedback.ses_message_id == event["mail"]["messageId"]


@pytest.mark.parametrize("bounce_type", ["Transient", "Undetermined"])
def test_a_soft_bounce_suppresses_nobody(bounce_type):
    event = bounce(
        ["full@example.com"],
        bounce_type=bounce_type,
        sub_type="MailboxFull",
        tags=shop_tags("shop-a"),
    )
    assert parse(event).suppressions == ()


def test_a_soft_bounce_needs_no_shop_tag():
    # Nothing is recorded for it, so whose it was does not matter
    event = bounce(["full@example.com"], bounce_type="Transient")
    assert parse(event).suppressions == ()


def test_a_complaint_suppresses_the_complainer():
    event = complaint(["annoyed@example.com"], tags=shop_tags("shop-b", "reactivation"))
    feedback = parse(event)
    assert feedback.suppressions == (
        Suppression(
            address="annoyed@example.com", reason=COMPLAINT, at=COMPLAINED, shop_id="shop-b"
        ),
    )
    assert feedback.message_kind == "reactivation"


def test_a_not_spam_report_is_no_complaint():
    event = complaint(["happy@example.com"], feedback_type="not-spam", tags=shop_tags("shop-b"))
    assert parse(event).suppressions == ()


def test_a_complaint_without_a_feedback_type_still_counts():
    # Many feedback loops send no type at all
    event = complaint(["annoyed@example.com"], tags=shop_tags("shop-b"))
    del event["complaint"]["complaintFeedbackType"]
    assert [s.reason for s in parse(event).suppressions] == [COMPLAINT]


def test_every_recipient_of_a_bounce_is_suppressed_once_each_normalised():
    # Given a bounce naming several recipients, one of them twice in other spellings
    event = bounce(
        ["One@Example.COM", "two@example.com", " one@example.com "], tags=shop_tags("shop-a")
    )
    # Then each address is suppressed once, in the form profiles keep it
    feedback = parse(event)
    assert [s.address for s in feedback.suppressions] == ["one@example.com", "two@example.com"]
    assert {s.shop_id for s in feedback.suppressions} == {"shop-a"}
    assert feedback.unreadable_recipients == 0


def test_an_internationalised_domain_is_kept_in_its_ascii_form():
    event = bounce(["jose@bücher.example"], tags=shop_tags("shop-a"))
    (suppression,) = parse(event).suppressions
    assert suppression.address == "jose@xn--bcher-kva.example"


def test_a_recipient_that_is_no_address_is_counted_and_the_others_kept():
    event = bounce(["not an address", "two@example.com"], tags=shop_tags("shop-a"))
    feedback = parse(event)
    assert [s.address for s in feedback.suppressions] == ["two@example.com"]
    assert feedback.unreadable_recipients == 1


def test_the_older_identity_notification_form_is_read_the_same_way():
    event = bounce(["gone@example.com"], tags=shop_tags("shop-a"))
    assert parse(as_identity_notification(event)) == parse(event)


def test_a_bounce_time_from_a_clock_running_ahead_is_capped_at_arrival():
    event = bounce(
        ["gone@example.com"], tags=shop_tags("shop-a"), timestamp="2030-01-01T00:00:00.000Z"
    )
    (suppression,) = parse(event).suppressions
    assert suppression.at == RECEIVED


def test_a_missing_bounce_time_is_the_arrival_time():
    event = bounce(["gone@example.com"], tags=shop_tags("shop-a"))
    del event["bounce"]["timestamp"]
    (suppression,) = parse(event).suppressions
    assert suppression.at == RECEIVED


def test_other_event_types_are_ignored_without_error():
    # SES also announces a new destination, and may publish deliveries if configured to
    notice = {"eventType": "Delivery", "mail": {"messageId": "x"}, "delivery": {}}
    setup = {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "ok"}
    assert parse(notice).suppressions == ()
    assert parse(setup).suppressions == ()


def test_the_tags_the_sender_sets_come_back_as_the_shop():
    # Given the tags the sender puts on a message, reported by SES as lists of values
    tags = {name: [value] for name, value in message_tags("shop-c", "reactivation").items()}
    # Then a hard bounce of that message is the tagged shop's
    (suppression,) = parse(bounce(["gone@example.com"], tags=tags)).suppressions
    assert suppression.shop_id == "shop-c"


@pytest.mark.parametrize(
    ("shop_id", "kind"), [("Shop A", "cart_recovery"), ("shop-a", "cart recovery")]
)
def test_tags_that_ses_would_refuse_are_refused_when_sending(shop_id, kind):
    with pytest.raises(ValueError):
        message_tags(shop_id, kind)


# -- what cannot be read ---------------------------------------------------------------------


def test_a_hard_bounce_without_a_shop_tag_is_refused():
    event = bounce(["gone@example.com"])
    with pytest.raises(InvalidFeedback, match="no 'shop' tag"):
        parse(event)


@pytest.mark.parametrize(
    "tags",
    [
        {"shop": []},
        {"shop": [""]},
        {"shop": ["SHOP#other"]},
        {"shop": ["shop-a#PROFILE#x"]},
        {"shop": "shop-a"},
        {"shop": [7]},
    ],
    ids=["empty-list", "empty", "key-injection", "key-suffix", "not-a-list", "not-text"],
)
def test_a_complaint_whose_shop_tag_is_not_a_shop_id_is_refused(tags):
    event = complaint(["annoyed@example.com"], tags=tags)
    with pytest.raises(InvalidFeedback, match="'shop' tag"):
        parse(event)


@pytest.mark.parametrize(
    "message",
    ["", "not json", "[1, 2]", '"Bounce"', "{}", '{"eventType": 5}', '{"eventType": "Bou'],
    ids=["empty", "text", "array", "string", "no-type", "type-not-text", "truncated"],
)
def test_malformed_messages_are_refused(message):
    with pytest.raises(InvalidFeedback):
        parse_notification(message, received_at=RECEIVED)


@pytest.mark.parametrize(
    "damage",
    [
        lambda e: e.pop("mail"),
        lambda e: e.pop("bounce"),
        lambda e: e["bounce"].pop("bouncedRecipients"),
        lambda e: e["bounce"].update(bouncedRecipients=[]),
        lambda e: e["bounce"].update(bouncedRecipients="gone@example.com"),
    ],
    ids=["no-mail", "no-bounce", "no-recipients", "empty-recipients", "recipients-not-a-list"],
)
def test_an_incomplete_hard_bounce_is_refused(damage):
    event = bounce(["gone@example.com"], tags=shop_tags("shop-a"))
    damage(event)
    with pytest.raises(InvalidFeedback):
        parse(event)


def test_the_error_never_quotes_the_notification():
    # Given a notification holding an address that cannot be acted on (no shop)
    event = complaint(["secret.person@example.com"])
    # Then the error (which is logged) names what is missing, not what was there
    with pytest.raises(InvalidFeedback) as error:
        parse(event)
    assert "secret.person" not in str(error.value)
    assert "example.com" not in str(error.value)
