"""Shared fixtures: one local stack (moto's server on 127.0.0.1, the real handlers behind a
real HTTP server, a simulated clock) for the integration and end-to-end tests."""

import base64
import itertools
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from comeback.clock import SimulatedClock
from comeback.models.shop import ShopSettings
from comeback.services.shops import ShopKeys, create_shop

from tests.journeys import SINGLE_REMINDER

SENDER_DOMAIN = "shop.example.com"
START = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
_shop_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def stack():
    import boto3
    from comeback.local.stack import LocalStack

    from tests.support import OUTBOX

    OUTBOX.install(boto3._get_default_session())  # before the sender makes its SES client
    local = LocalStack.start(sender_domains=[SENDER_DOMAIN], clock=SimulatedClock(START))
    yield local
    local.stop()


@dataclass
class ShopClient:
    """A shop as seen from outside: its keys and the tracking API over HTTP."""

    keys: ShopKeys
    api_url: str

    @property
    def shop_id(self) -> str:
        return self.keys.shop_id

    def post(self, path, body, *, key=None, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(body).encode()
        auth = base64.b64encode(f"{key if key is not None else self.keys.write_key}:".encode())
        request = urllib.request.Request(
            self.api_url + path,
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": "Basic " + auth.decode(),
                **(headers or {}),
            },
        )
        return _send(request)

    def get(self, path):
        return _send(urllib.request.Request(self.api_url + path, method="GET"))


def _send(request):
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def make_shop(stack, at=START, **settings) -> ShopClient:
    """A shop created at `at` (the sweeps read its due days from its creation on); keyword
    arguments are ShopSettings fields. Its journeys are single reminders without holdout
    (tests.journeys) unless `journeys` says otherwise."""
    number = next(_shop_numbers)
    stack.clock.set(at)
    keys = create_shop(
        stack.store(),
        shop_id=f"shop-{number}",
        name=f"Test Shop {number}",
        settings=ShopSettings(
            from_address=f"hello@{SENDER_DOMAIN}",
            site_url="https://shop.example.com",
            **{"journeys": SINGLE_REMINDER, **settings},
        ),
        now=stack.clock.now(),
    )
    return ShopClient(keys=keys, api_url=stack.api.url)


@pytest.fixture(autouse=True)
def _retire_shops_after_test(request):
    """Sweeps visit every registered shop on each run (a real stack serves a handful); this
    session's stack would otherwise gather one shop per test and sweep them all at every
    tick. After each test that used the stack, its shops leave the registry (their data
    stays, unswept, as a shop would that nobody runs any more)."""
    if "stack" not in request.fixturenames:
        yield
        return
    local = request.getfixturevalue("stack")
    before = set(local.store().list_shop_ids())
    yield
    added = set(local.store().list_shop_ids()) - before
    if added:
        from comeback import keys
        from comeback.adapters.dynamo_types import to_item

        local.aws.client("dynamodb").update_item(
            TableName=local.aws.table_name,
            Key=to_item({"pk": keys.SHOP_REGISTRY_PK, "sk": keys.SHOP_REGISTRY_PK}),
            UpdateExpression="DELETE shop_ids :shops",
            ExpressionAttributeValues={":shops": {"SS": sorted(added)}},
        )


@pytest.fixture
def shop(stack):
    """A fresh shop for each test, so tests never see each other's data."""
    return make_shop(stack)
