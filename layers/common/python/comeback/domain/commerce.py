"""Properties of the Segment e-commerce events we act on
(https://segment.com/docs/connections/spec/ecommerce/v2/)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from comeback.domain import alerts

MAX_AMOUNT = Decimal("1000000000")
MAX_QUANTITY = 100_000
MAX_TEXT = 500

PRODUCT_ADDED = "Product Added"
PRODUCT_REMOVED = "Product Removed"
CART_VIEWED = "Cart Viewed"
CHECKOUT_STARTED = "Checkout Started"
ORDER_COMPLETED = "Order Completed"
CONSENT_UPDATED = "Consent Updated"
PRODUCT_VIEWED = "Product Viewed"
# A shopper asking to be told when a product is back, or cheaper (`product_id`).
BACK_IN_STOCK_REQUESTED = "Back In Stock Requested"
PRICE_ALERT_REQUESTED = "Price Alert Requested"

CART_EVENTS = frozenset({PRODUCT_ADDED, PRODUCT_REMOVED, CART_VIEWED, CHECKOUT_STARTED})
# Events that make the person a watcher of the product, and why (see domain.alerts).
WATCH_EVENTS = {
    PRODUCT_VIEWED: alerts.VIEWED,
    PRODUCT_ADDED: alerts.CARTED,
    BACK_IN_STOCK_REQUESTED: alerts.ASKED,
    PRICE_ALERT_REQUESTED: alerts.ASKED,
}


def to_amount(value: Any) -> Decimal | None:
    """A money amount from JSON (number or numeric string), exact, or None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("must be a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError("must be a number") from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise ValueError(f"must be a number from 0 to {MAX_AMOUNT}")
    return amount


def id_text(value: Any) -> Any:
    """Ids sent as numbers (many SDKs do) are kept as their text, as the spec means them."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


MAX_CATEGORY_CHARS = 80


class _Props(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_max_length=MAX_TEXT)


class ProductProps(_Props):
    product_id: str | None = None
    sku: str | None = None
    name: str | None = None
    category: str | None = None
    price: Decimal | None = None
    quantity: int = Field(default=1, ge=0, le=MAX_QUANTITY)
    url: str | None = None
    image_url: str | None = None
    currency: str | None = Field(default=None, max_length=3)
    cart_id: str | None = None

    @field_validator("category", mode="before")
    @classmethod
    def _category_text(cls, value: Any) -> Any:
        """Only read, never required: a category that is no text is left out, not refused."""
        return (value.strip()[:MAX_CATEGORY_CHARS] or None) if isinstance(value, str) else None

    @field_validator("product_id", "sku", "cart_id", mode="before")
    @classmethod
    def _ids_are_strings(cls, value: Any) -> Any:
        return id_text(value)

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: Any) -> Decimal | None:
        return to_amount(value)

    @field_validator("quantity", mode="before")
    @classmethod
    def _quantity(cls, value: Any) -> Any:
        return 1 if value is None else value

    def line_key(self) -> str | None:
        return self.product_id or self.sku


class CartProps(_Props):
    cart_id: str | None = None
    currency: str | None = Field(default=None, max_length=3)
    products: list[ProductProps] = Field(default_factory=list, max_length=200)

    @field_validator("cart_id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        return id_text(value)

    @field_validator("products", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class OrderProps(CartProps):
    order_id: str | None = None
    total: Decimal | None = None
    revenue: Decimal | None = None
    subtotal: Decimal | None = None

    @field_validator("order_id", mode="before")
    @classmethod
    def _order_id(cls, value: Any) -> Any:
        return id_text(value)

    @field_validator("total", "revenue", "subtotal", mode="before")
    @classmethod
    def _amounts(cls, value: Any) -> Decimal | None:
        return to_amount(value)

    def order_value(self) -> Decimal:
        """What the order brought in: `total`, else `revenue`, else `subtotal`, else its lines."""
        for amount in (self.total, self.revenue, self.subtotal):
            if amount is not None:
                return amount
        return sum(((p.price or Decimal(0)) * p.quantity for p in self.products), start=Decimal(0))


PROPERTY_MODELS: dict[str, type[_Props]] = {
    PRODUCT_ADDED: ProductProps,
    PRODUCT_REMOVED: ProductProps,
    PRODUCT_VIEWED: ProductProps,
    BACK_IN_STOCK_REQUESTED: ProductProps,
    PRICE_ALERT_REQUESTED: ProductProps,
    CART_VIEWED: CartProps,
    CHECKOUT_STARTED: OrderProps,
    ORDER_COMPLETED: OrderProps,
}


def parse_properties(event_name: str, properties: dict[str, Any]) -> _Props | None:
    """Validated properties of an e-commerce event, or None for events we do not interpret."""
    model = PROPERTY_MODELS.get(event_name)
    return model.model_validate(properties) if model else None
