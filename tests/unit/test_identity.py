"""Which profile an event belongs to."""

from comeback.domain.identity import identifiers_of, resolve
from comeback.models.events import SegmentMessage


def message(**fields):
    return SegmentMessage.model_validate({"type": "identify", **fields})


def test_identifiers_are_normalised_and_ordered_by_precedence():
    ids = identifiers_of(
        message(anonymousId="a1", userId="u1", traits={"email": " Ann@Example.COM"})
    )
    assert ids == ["user:u1", "email:ann@example.com", "anon:a1"]


def test_a_new_person_gets_a_new_profile_and_all_links():
    resolution = resolve(["user:u1", "anon:a1"], {}, {})
    assert resolution.profile_id is None
    assert resolution.new_links == ("user:u1", "anon:a1")


def test_an_anonymous_visitor_who_logs_in_keeps_their_profile():
    resolution = resolve(["user:u1", "anon:a1"], {"anon:a1": "P1"}, {"P1": None})
    assert resolution.profile_id == "P1"
    assert resolution.new_links == ("user:u1",)


def test_a_device_used_by_another_account_is_not_taken_over():
    # Given anon a1 already belongs to user u2's profile
    resolution = resolve(["user:u1", "anon:a1"], {"anon:a1": "P2"}, {"P2": "u2"})
    # Then u1 gets a profile of their own
    assert resolution.profile_id is None
    assert resolution.new_links == ("user:u1",)


def test_email_finds_the_profile_of_a_person_on_a_new_device():
    resolution = resolve(
        ["email:ann@example.com", "anon:new"], {"email:ann@example.com": "P1"}, {"P1": "u1"}
    )
    assert resolution.profile_id == "P1"
    assert resolution.new_links == ("anon:new",)


def test_device_loyalty_card_and_shop_ids_are_identifiers_too():
    ids = identifiers_of(
        SegmentMessage.model_validate(
            {
                "type": "track",
                "event": "Store Visit",
                "anonymousId": "a1",
                "context": {
                    "device": {"id": "ios-7f3a"},
                    "externalIds": [
                        {"id": "991", "type": "CRM", "collection": "users"},
                        {"id": "x", "type": "bad:type"},
                        "junk",
                    ],
                    "traits": {"loyalty_card": "ab 12-345"},
                },
            }
        )
    )
    assert ids == ["loyalty:AB12345", "ext:crm:991", "device:ios-7f3a", "anon:a1"]
