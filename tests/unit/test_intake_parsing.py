"""Tracking calls in, accepted events and clear errors out (Segment HTTP API semantics)."""

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from comeback.domain.intake import (
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    decode_body,
    read_document,
    validate_messages,
    write_key_from_authorization,
)
from comeback.errors import InvalidInput, PayloadTooLarge

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def validate(call, document, shop_id="shop-a"):
    return validate_messages(call, document, received_at=NOW, shop_id=shop_id)


def test_write_key_is_the_basic_auth_user_name():
    header = "Basic " + base64.b64encode(b"wk_secret:").decode()
    assert write_key_from_authorization(header) == "wk_secret"
    assert write_key_from_authorization("Bearer abc") is None
    assert write_key_from_authorization("Basic !!!notbase64") is None


def test_write_key_may_come_in_the_body():
    _document, key = read_document(b'{"writeKey": "wk_body", "userId": "u"}', None)
    assert key == "wk_body"


def test_gzip_bodies_are_accepted():
    data = json.dumps({"userId": "u1", "event": "Signed Up"}).encode()
    assert decode_body(gzip.compress(data), "gzip") == data


def test_a_gzip_bomb_is_refused_without_inflating_it_all():
    bomb = gzip.compress(b"{" + b" " * (MAX_BATCH_BYTES * 20) + b"}")
    with pytest.raises(PayloadTooLarge):
        decode_body(bomb, "gzip")


def test_bodies_over_500_kb_are_refused():
    with pytest.raises(PayloadTooLarge):
        decode_body(b"x" * (MAX_BATCH_BYTES + 1), None)


def test_malformed_json_is_a_clear_error():
    with pytest.raises(InvalidInput, match="not valid JSON"):
        read_document(b"{nope", None)


def test_track_without_event_is_refused():
    result = validate("track", {"userId": "u1"})
    assert not result.accepted
    assert "event" in result.rejected[0].error


def test_a_call_without_any_user_id_is_refused():
    result = validate("page", {"name": "Home"})
    assert "userId or anonymousId" in result.rejected[0].error


def test_one_bad_event_does_not_sink_the_batch():
    batch = {
        "batch": [
            {"type": "track", "userId": "u1", "event": "Product Viewed", "messageId": "m1"},
            {"type": "track", "userId": "u2", "messageId": "m2"},
            {"type": "identify", "anonymousId": "a3", "messageId": "m3"},
        ]
    }
    result = validate("batch", batch)
    assert [e.message_id for e in result.accepted] == ["m1", "m3"]
    assert [(r.index, r.message_id) for r in result.rejected] == [(1, "m2")]


def test_an_event_over_32_kb_is_refused_alone():
    big = {"type": "track", "userId": "u", "event": "E", "properties": {"x": "y" * MAX_EVENT_BYTES}}
    result = validate("batch", {"batch": [big, {"type": "page", "userId": "u"}]})
    assert len(result.accepted) == 1
    assert "32 KB" in result.rejected[0].error


def test_client_clock_skew_is_corrected_as_segment_does():
    # Given a client whose clock is 10 minutes fast
    client_now = NOW + timedelta(minutes=10)
    document = {
        "userId": "u",
        "event": "Cart Viewed",
        "timestamp": (client_now - timedelta(seconds=30)).isoformat(),
        "sentAt": client_now.isoformat(),
    }
    # When the call is accepted
    event = validate("track", document).accepted[0]
    # Then the timestamp is shifted by receivedAt - sentAt
    assert event.timestamp == NOW - timedelta(seconds=30)
    assert event.message["originalTimestamp"].startswith("2024-03-01T12:09:30")


def test_missing_message_id_gets_a_stable_one_from_the_content():
    document = {"userId": "u", "event": "Signed Up", "timestamp": "2024-03-01T11:00:00Z"}
    first = validate("track", dict(document)).accepted[0].message_id
    again = validate("track", dict(document, sentAt="2024-03-01T11:00:05Z")).accepted[0]
    other_shop = validate("track", dict(document), shop_id="shop-b").accepted[0]
    assert first == again.message_id
    assert first != other_shop.message_id


def test_numeric_ids_are_strings():
    event = validate("identify", {"userId": 42}).accepted[0]
    assert event.message["userId"] == "42"


def test_ecommerce_properties_are_checked():
    result = validate(
        "track", {"userId": "u", "event": "Order Completed", "properties": {"total": "lots"}}
    )
    assert "total" in result.rejected[0].error


@pytest.mark.parametrize(
    "email,ok",
    [
        ("ann@example.com", True),
        ("Ann@Bücher.example", True),
        ("anné@example.com", False),
        ("not-an-email", False),
    ],
)
def test_emails_in_traits_are_checked(email, ok):
    result = validate("identify", {"userId": "u", "traits": {"email": email}})
    assert bool(result.accepted) is ok


def test_batch_needs_an_array():
    with pytest.raises(InvalidInput, match="batch"):
        validate("batch", {"batch": {"type": "track"}})


@pytest.mark.parametrize(
    "body,why",
    [
        (b'{"userId": "u", "traits": {"x": NaN}}', "NaN"),
        (b'{"userId": "u", "traits": {"x": 1e400}}', "storable range"),
        (b'{"userId": "u", "traits": {"x": 1e-200}}', "storable range"),
        (
            b'{"userId": "u", "traits": {"x": 123456789012345678901234567890123456789}}',
            "storable range",
        ),
        (b'{"userId": "\\ud800"}', "surrogate"),
        (b'{"userId": "u", "traits": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}", "nested"),
    ],
)
def test_values_that_could_not_be_stored_are_refused_at_intake(body, why):
    with pytest.raises(InvalidInput, match=why):
        document, _ = read_document(body, None)
        result = validate("identify", document)
        raise InvalidInput(result.rejected[0].error)


def test_a_deeply_nested_body_is_a_400_not_a_crash():
    with pytest.raises(InvalidInput):
        read_document(b"[" * 20_000 + b"]" * 20_000, None)


@pytest.mark.parametrize("timestamp", ["0999-01-01T00:00:00Z", "1969-12-31T23:59:59Z"])
def test_timestamps_before_1970_are_refused(timestamp):
    result = validate("track", {"userId": "u", "event": "E", "timestamp": timestamp})
    assert "1970" in result.rejected[0].error


def test_future_timestamps_are_clamped_to_the_arrival():
    event = validate(
        "track", {"userId": "u", "event": "E", "timestamp": "9999-12-31T23:59:59Z"}
    ).accepted[0]
    assert event.timestamp == NOW
    overflow = validate(
        "track",
        {
            "userId": "u",
            "event": "E",
            "timestamp": "9999-01-01T00:00:00Z",
            "sentAt": "0001-01-01T00:00:00Z",
        },
    )
    assert "out of range" in overflow.rejected[0].error


def test_batch_level_context_counts_towards_the_32_kb_limit():
    result = validate(
        "batch",
        {
            "context": {"big": "c" * 40_000},
            "batch": [{"type": "track", "userId": "u", "event": "E"}],
        },
    )
    assert not result.accepted and "32 KB" in result.rejected[0].error


@pytest.mark.parametrize(
    "call,document",
    [
        (
            "track",
            {
                "userId": "u",
                "event": "Consent Updated",
                "properties": {"channel": "email", "granted": "false"},
            },
        ),
        (
            "track",
            {
                "userId": "u",
                "event": "Consent Updated",
                "properties": {"channel": "Email", "granted": False},
            },
        ),
        ("track", {"userId": "u", "event": "Consent Updated", "properties": {}}),
        ("identify", {"userId": "u", "traits": {"email_consent": "yes"}}),
        ("identify", {"userId": "u", "traits": {"consent": {"fax": True}}}),
    ],
)
def test_consent_that_would_silently_change_nothing_is_refused(call, document):
    result = validate(call, document)
    assert not result.accepted
