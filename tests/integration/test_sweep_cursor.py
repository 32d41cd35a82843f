"""The due index is read day by day from a cursor: nothing due is ever left behind."""

from datetime import timedelta

from comeback import keys, wiring
from comeback.adapters.dynamo_types import from_item
from comeback.adapters.queues import QueuePublisher
from comeback.domain.intake import validate_messages
from comeback.domain.timers import CART_RECOVERY
from comeback.models.shop import ShopSettings
from comeback.services.processing import process_event
from comeback.services.sweeping import sweep

from tests.conftest import START
from tests.journeys import SINGLE_REMINDER

RULES = ShopSettings(journeys=SINGLE_REMINDER)

LEASE = timedelta(minutes=15)


def _add_to_cart(stack, shop, user, *, at, received_at):
    event = validate_messages(
        "track",
        {
            "userId": user,
            "messageId": f"{user}-{at.isoformat()}",
            "event": "Product Added",
            "timestamp": at.isoformat(),
            "properties": {"product_id": "p"},
        },
        received_at=received_at,
        shop_id=shop.shop_id,
    ).accepted[0]
    process_event(
        stack.store(),
        event,
        RULES,
        now=received_at,
        retention=timedelta(days=30),
    )


def _sweep(stack, now):
    publisher = QueuePublisher(wiring.client("sqs"), stack.aws.send_queue_url)
    return sweep(stack.store(), publisher, CART_RECOVERY, now=now, lease=LEASE, max_items=1000)


def test_timers_due_while_no_sweep_ran_are_found_days_later(stack, shop):
    # Given a cart abandoned on day 0 and no sweep for three days
    _add_to_cart(stack, shop, "quiet", at=START, received_at=START)
    store = stack.store()
    assert store.sweep_cursor(shop.shop_id, CART_RECOVERY) is None
    # When a sweep finally runs
    later = START + timedelta(days=3)
    _sweep(stack, later)
    # Then the old day's timer was claimed and the cursor moved past the finished days
    assert store.sweep_cursor(shop.shop_id, CART_RECOVERY) == later.date()
    assert _timer(stack, shop, "quiet")["claim_key"].startswith(CART_RECOVERY)
    stack.send_messages()


def test_a_late_event_with_an_old_timestamp_lands_in_a_day_still_read(stack, shop):
    # Given the sweeps are done with every day before today
    today = START + timedelta(days=5)
    _sweep(stack, today)
    assert stack.store().sweep_cursor(shop.shop_id, CART_RECOVERY) == today.date()
    # When an event from three days ago arrives now (a retried batch, a slow client)
    _add_to_cart(stack, shop, "late", at=today - timedelta(days=3), received_at=today)
    # Then its timer, already due, is found by the next sweep
    assert _timer(stack, shop, "late").get("claim_key") is None
    _sweep(stack, today + timedelta(minutes=1))
    assert _timer(stack, shop, "late")["claim_key"].startswith(CART_RECOVERY)
    stack.send_messages()


def _timer(stack, shop, user):
    store = stack.store()
    profile_id = store.find_links(shop.shop_id, [f"user:{user}"])[f"user:{user}"]
    item = wiring.client("dynamodb").get_item(
        TableName=stack.aws.timers_table_name,
        Key={
            "pk": {"S": keys.profile_pk(shop.shop_id, profile_id)},
            "sk": {"S": keys.timer_sk(CART_RECOVERY)},
        },
    )["Item"]
    return from_item(item)
