"""Browse abandonment on the local stack: repeated product views with no cart bring one
message two hours after the last view; a cart (whose own journey then speaks) or an order
stops it."""

from datetime import timedelta

from comeback.models.journey import default_browse_journey, default_cart_journey

from tests.conftest import START, make_shop
from tests.e2e.test_omnichannel import add_to_cart, everywhere_customer
from tests.support import sent_emails

JOURNEYS = {
    "browse_abandonment": default_browse_journey().model_copy(update={"holdout_percent": 0}),
    "cart_recovery": default_cart_journey().model_copy(update={"holdout_percent": 0}),
}


def view(shop, stack, sku, at, anonymous="anon-1"):
    stack.clock.set(at)
    shop.post(
        "/v1/track",
        {
            "anonymousId": anonymous,
            "event": "Product Viewed",
            "timestamp": at.isoformat(),
            "properties": {"product_id": sku, "name": f"Walking boot {sku}"},
        },
    )


def browsing_shopper(stack):
    shop = make_shop(stack, START, journeys=JOURNEYS, quiet_hours_start=None, quiet_hours_end=None)
    email = f"eve-{shop.shop_id}@example.com"
    everywhere_customer(shop, email)
    for minute, sku in ((0, "b1"), (3, "b2"), (6, "b1")):
        view(shop, stack, sku, START + timedelta(minutes=minute))
    return shop, email


def test_three_views_and_no_cart_bring_one_message_two_hours_after_the_last(stack):
    _shop, email = browsing_shopper(stack)
    stack.tick(START + timedelta(hours=2, minutes=5))
    assert sent_emails(stack, email) == []
    stack.tick(START + timedelta(hours=2, minutes=21))
    [message] = sent_emails(stack, email)
    assert message["Subject"] == "Still thinking about Walking boot b1?"
    assert "Walking boot b2" in message.get_body(("plain",)).get_content()
    for hours in (5, 48):
        stack.tick(START + timedelta(hours=hours))
    assert len(sent_emails(stack, email)) == 1


def test_a_cart_takes_over_and_only_the_cart_journey_speaks(stack):
    shop, email = browsing_shopper(stack)
    stack.clock.set(START + timedelta(hours=1))
    add_to_cart(shop, "b1", START + timedelta(hours=1))
    for moment in (
        timedelta(hours=1, minutes=31),
        timedelta(hours=3),
        timedelta(hours=5, minutes=1),
    ):
        stack.tick(START + moment)
    [reminder] = sent_emails(stack, email)
    assert reminder["Subject"].startswith("You left something in your cart")


def test_an_order_ends_browse_abandonment(stack):
    shop, email = browsing_shopper(stack)
    stack.clock.set(START + timedelta(hours=1))
    shop.post(
        "/v1/track",
        {
            "anonymousId": "anon-1",
            "event": "Order Completed",
            "timestamp": (START + timedelta(hours=1)).isoformat(),
            "properties": {"order_id": "o-9", "total": 80},
        },
    )
    for hours in (2.5, 24):
        stack.tick(START + timedelta(hours=hours))
    assert sent_emails(stack, email) == []
