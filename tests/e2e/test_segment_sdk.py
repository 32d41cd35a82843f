"""The official Segment Python SDK, pointed at the local API with `host=`, works unchanged."""

from datetime import timedelta

import pytest
from segment.analytics import Client
from segment.analytics.request import APIError

from tests.conftest import START
from tests.support import profile_of


def test_events_from_the_segment_python_sdk_land_on_profiles(stack, shop):
    failures = []
    client = Client(
        write_key=shop.keys.write_key,
        host=stack.api.url,
        gzip=True,
        sync_mode=True,
        max_retries=1,
        on_error=lambda e, batch: failures.append(e),
    )
    client.identify(
        "sdk-user",
        {"email": "Sdk.User@Example.com", "email_consent": True},
        anonymous_id="sdk-anon",
        timestamp=START,
    )
    client.track(
        "sdk-user",
        "Product Added",
        {"product_id": "p9", "price": 3.25},
        timestamp=START + timedelta(minutes=1),
    )
    client.track(
        "sdk-user",
        "Order Completed",
        {"order_id": "sdk-o1", "total": 41.5, "currency": "EUR"},
        timestamp=START + timedelta(minutes=2),
    )
    client.page("sdk-user", category="Docs", name="Install", timestamp=START)
    client.flush()
    assert failures == []

    stack.process_events()
    profile = profile_of(stack, shop.shop_id, "sdk-user")
    assert profile.email == "sdk.user@example.com"
    assert profile.has_consent("email")
    assert profile.orders.count == 1 and str(profile.orders.revenue) == "41.5"
    assert profile.orders.currency == "EUR"
    assert profile.cart is None  # closed by the order
    assert "sdk-anon" in profile.anonymous_ids
    assert profile.event_count == 4


def test_the_sdk_is_told_a_wrong_write_key_is_unauthorized(stack, shop):
    client = Client(write_key="wk_not_a_key", host=stack.api.url, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as refused:
        client.track("someone", "Signed Up")
    assert refused.value.status == 401
