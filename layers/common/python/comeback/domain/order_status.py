"""Order status messages: transactional, triggered by the shop's backend reporting an order's
progress (`Order Completed`, `Order Shipped`, `Order Updated`, `Order Cancelled`,
`Order Refunded`).

Only trusted events (secret key, platform webhooks) trigger them: with the public write key
anyone could otherwise send "your order has shipped" to any address a profile holds. Each
order and status is one message (its job key), however often the event is delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ORDER_STATUS = "order_status"
STATUS_OF_EVENT = {
    "Order Completed": "completed",
    "Order Shipped": "shipped",
    "Order Updated": "updated",
    "Order Cancelled": "cancelled",
    "Order Refunded": "refunded",
}
MAX_ORDER_ID_CHARS = 100
_SEPARATOR = "|"

HEADLINES = {
    "completed": "Thank you for your order {order}",
    "shipped": "Your order {order} is on its way",
    "updated": "An update on your order {order}",
    "cancelled": "Your order {order} has been cancelled",
    "refunded": "Your order {order} has been refunded",
}


@dataclass(frozen=True)
class OrderUpdate:
    order_id: str
    status: str

    @property
    def subject(self) -> str:
        """The job subject: one message per order and status."""
        return f"{self.status}{_SEPARATOR}{self.order_id}"

    def headline(self) -> str:
        return HEADLINES[self.status].format(order=self.order_id)


def order_update(
    event: str | None, properties: dict[str, Any], *, trusted: bool
) -> OrderUpdate | None:
    """The order update a tracked event reports, if it is one we tell the customer about."""
    status = STATUS_OF_EVENT.get(event or "")
    order_id = properties.get("order_id")
    if not trusted or status is None or isinstance(order_id, bool):
        return None
    if isinstance(order_id, int | float):
        order_id = str(order_id)
    if not isinstance(order_id, str) or not order_id.strip():
        return None
    order_id = order_id.strip()
    if len(order_id) > MAX_ORDER_ID_CHARS or not order_id.isprintable():
        return None
    return OrderUpdate(order_id, status)


def parse_order_subject(subject: str) -> OrderUpdate | None:
    status, separator, order_id = subject.partition(_SEPARATOR)
    if not separator or status not in HEADLINES or not order_id:
        return None
    return OrderUpdate(order_id, status)
