"""Phone numbers, time zones and push subscriptions as the intake stores them."""

import base64
from datetime import UTC, datetime

import pytest
from comeback.domain.identity import identifiers_of
from comeback.domain.intake import IntakePolicy, validate_messages
from comeback.domain.profiles import apply_event, new_profile
from comeback.domain.push_events import PUSH_SUBSCRIBED, PUSH_UNSUBSCRIBED
from comeback.keys import endpoint_digest
from comeback.models.events import SegmentMessage
from comeback.models.shop import ShopSettings
from comeback.services.intake import push_call_as_track
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
GERMANY = IntakePolicy(phone_region="DE")
LOCAL = IntakePolicy(allow_loopback_push=True)


def accepted(document, call="identify", policy=GERMANY):
    parsed = validate_messages(call, document, received_at=NOW, shop_id="s", policy=policy)
    return parsed


def stored(document, call="identify", policy=GERMANY):
    parsed = accepted(document, call, policy)
    assert not parsed.rejected, parsed.rejected
    return SegmentMessage.model_validate(parsed.accepted[0].message)


def test_equivalent_numbers_are_stored_in_one_e164_form_and_find_one_profile():
    spellings = ["+49 (0)30 1234 5678", "0049 30 12345678", "030 12345678"]
    forms = {stored({"userId": "u", "traits": {"phone": s}}).traits["phone"] for s in spellings}
    assert forms == {"+493012345678"}
    message = stored({"anonymousId": "a", "context": {"traits": {"phone": "030 12345678"}}})
    assert "phone:+493012345678" in identifiers_of(message)


def test_an_unusable_phone_or_zone_is_dropped_and_reported_keeping_the_rest():
    for traits in (
        {"phone": "12"},
        {"phone": 4930123},
        {"phone": "+49 3O 9O1 82O"},  # letters are not digits
        {"timezone": "Eastern Time (US & Canada)"},
    ):
        document = {"userId": "u", "traits": {"email": "ann@shop.test", **traits}}
        parsed = accepted(document)
        assert not parsed.rejected and len(parsed.accepted) == 1
        [warning] = parsed.warnings
        assert warning.error.startswith(f"traits.{next(iter(traits))} dropped:")
        kept = SegmentMessage.model_validate(parsed.accepted[0].message).traits
        assert kept == {"email": "ann@shop.test"}


def test_timezones_from_traits_and_from_the_browser():
    message = stored({"userId": "u", "context": {"timezone": "Mars/Base"}})
    profile = apply_event(new_profile("s", "p", NOW), message, NOW, [], ShopSettings(), NOW)
    assert profile.timezone is None
    message = stored({"userId": "u", "context": {"timezone": "Europe/Rome"}})
    profile = apply_event(new_profile("s", "p", NOW), message, NOW, [], ShopSettings(), NOW)
    assert profile.timezone == "Europe/Rome"
    message = stored({"userId": "u", "traits": {"timezone": "Asia/Kathmandu"}})
    profile = apply_event(new_profile("s", "p", NOW), message, NOW, [], ShopSettings(), NOW)
    assert profile.timezone == "Asia/Kathmandu"


def test_sms_consent_from_the_public_write_key_never_counts():
    document = {"userId": "u", "traits": {"phone": "+4915123456780", "consent": {"sms": True}}}
    message = stored(document)
    settings = ShopSettings()
    client = apply_event(new_profile("s", "p", NOW), message, NOW, [], settings, NOW)
    assert client.phone == "+4915123456780" and not client.has_consent("sms")
    server = apply_event(new_profile("s", "p", NOW), message, NOW, [], settings, NOW, trusted=True)
    assert server.has_consent("sms")


def browser_keys():
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return point, b"0123456789abcdef"


def test_a_push_subscription_is_normalised_and_lands_on_the_profile_with_push_consent():
    point, auth = browser_keys()
    body = {
        "anonymousId": "a1",
        "subscription": {
            "endpoint": "http://127.0.0.1:9999/push/abc",
            # Standard, padded base64: accepted and stored as unpadded base64url.
            "keys": {
                "p256dh": base64.b64encode(point).decode(),
                "auth": base64.b64encode(auth).decode(),
            },
        },
    }
    message = stored(push_call_as_track(body, PUSH_SUBSCRIBED), call="track", policy=LOCAL)
    keys = message.properties["subscription"]["keys"]
    assert keys["p256dh"] == base64.urlsafe_b64encode(point).rstrip(b"=").decode()
    assert "=" not in keys["auth"]
    profile = apply_event(new_profile("s", "p", NOW), message, NOW, [], ShopSettings(), NOW)
    assert profile.push_endpoints == [endpoint_digest("http://127.0.0.1:9999/push/abc")]
    assert profile.has_consent("push") and profile.consent["push"].source == "push_subscription"

    removal = push_call_as_track(
        {"anonymousId": "a1", "endpoint": "http://127.0.0.1:9999/push/abc"}, PUSH_UNSUBSCRIBED
    )
    gone = apply_event(profile, stored(removal, "track", LOCAL), NOW, [], ShopSettings(), NOW)
    # The digest stays: the subscription item's tombstone, ordered by time, decides.
    assert gone.push_endpoints == profile.push_endpoints


@pytest.mark.parametrize(
    ("endpoint", "policy"),
    [
        ("https://evil.example.net/push/1", IntakePolicy()),  # not a push service
        ("https://fcm.googleapis.com.evil.tld/x", IntakePolicy()),  # a look-alike
        ("http://127.0.0.1:9999/push/abc", IntakePolicy()),  # loopback only in local runs
        ("https://fcm.googleapis.com/fcm/send/x", LOCAL),  # and nothing else in local runs
    ],
)
def test_push_endpoints_outside_the_allowed_hosts_are_refused(endpoint, policy):
    point, auth = browser_keys()
    body = {
        "anonymousId": "a1",
        "subscription": {
            "endpoint": endpoint,
            "keys": {
                "p256dh": base64.urlsafe_b64encode(point).decode(),
                "auth": base64.urlsafe_b64encode(auth).decode(),
            },
        },
    }
    parsed = accepted(push_call_as_track(body, PUSH_SUBSCRIBED), "track", policy)
    assert not parsed.accepted and parsed.rejected[0].error.startswith(PUSH_SUBSCRIBED)


def test_a_wrong_length_key_is_refused_at_registration():
    point, _ = browser_keys()
    body = {
        "anonymousId": "a1",
        "subscription": {
            "endpoint": "http://127.0.0.1:9999/push/abc",
            "keys": {"p256dh": base64.b64encode(point).decode(), "auth": "c2hvcnQ"},
        },
    }
    parsed = accepted(push_call_as_track(body, PUSH_SUBSCRIBED), "track", LOCAL)
    assert not parsed.accepted and "auth" in parsed.rejected[0].error


def _subscription_body(endpoint, **ids):
    point, auth = browser_keys()
    return {
        **ids,
        "subscription": {
            "endpoint": endpoint,
            "keys": {
                "p256dh": base64.urlsafe_b64encode(point).decode(),
                "auth": base64.urlsafe_b64encode(auth).decode(),
            },
        },
    }


def test_a_browser_subscribes_by_its_anonymous_id_unless_the_backend_says_otherwise():
    body = _subscription_body("http://127.0.0.1:9999/push/abc", userId="victim")
    track = push_call_as_track(body, PUSH_SUBSCRIBED)
    parsed = accepted(track, "track", LOCAL)
    assert not parsed.accepted and "anonymousId" in parsed.rejected[0].error
    trusted = validate_messages(
        "track", track, received_at=NOW, shop_id="s", source="server", policy=LOCAL
    )
    assert len(trusted.accepted) == 1


def test_a_client_subscription_grants_push_consent_only_where_client_consent_counts():
    body = _subscription_body("http://127.0.0.1:9999/push/abc", anonymousId="a1")
    message = stored(push_call_as_track(body, PUSH_SUBSCRIBED), call="track", policy=LOCAL)
    strict = ShopSettings(accept_client_consent=False)
    profile = apply_event(new_profile("s", "p", NOW), message, NOW, [], strict, NOW)
    assert profile.push_endpoints and not profile.has_consent("push")


def test_in_a_local_run_only_the_local_push_service_is_accepted():
    policy = IntakePolicy(allow_loopback_push=True, loopback_push_origin="http://127.0.0.1:9999")
    for endpoint, ok in (
        ("http://127.0.0.1:9999/push/abc", True),
        ("http://127.0.0.1:5000/moto-api/reset", False),  # another local server
    ):
        body = _subscription_body(endpoint, anonymousId="a1")
        parsed = accepted(push_call_as_track(body, PUSH_SUBSCRIBED), "track", policy)
        assert bool(parsed.accepted) is ok
