"""Which tracked events are order updates we tell the customer about."""

from comeback.domain.order_status import OrderUpdate, order_update, parse_order_subject


def test_the_backends_order_events_are_updates_and_a_browsers_are_not():
    shipped = order_update("Order Shipped", {"order_id": "A-1"}, trusted=True)
    assert shipped == OrderUpdate("A-1", "shipped")
    assert shipped.headline() == "Your order A-1 is on its way"
    # Anyone holds the public write key: a client cannot make us email "your order shipped".
    assert order_update("Order Shipped", {"order_id": "A-1"}, trusted=False) is None


def test_an_update_needs_a_known_event_and_a_usable_order_id():
    assert order_update("Product Viewed", {"order_id": "A-1"}, trusted=True) is None
    for bad in (None, "", "   ", True, "x" * 101, "line\nbreak", {"id": 1}):
        assert order_update("Order Refunded", {"order_id": bad}, trusted=True) is None
    assert order_update("Order Completed", {"order_id": 1042}, trusted=True).order_id == "1042"


def test_the_job_subject_round_trips_and_garbage_is_no_update():
    update = OrderUpdate("A|1", "cancelled")
    assert parse_order_subject(update.subject) == update
    assert parse_order_subject("2024-05-01T09:00:00.000Z") is None
    assert parse_order_subject("exploded|A-1") is None
