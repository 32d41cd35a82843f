"""A shop's product as the catalogue keeps it: one small item per product, from the platform."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

MAX_TITLE = 500
MAX_URL = 2048
MAX_PRICE = Decimal("1000000000")
MAX_INVENTORY = 10**12


class Product(BaseModel):
    """What back-in-stock and price-drop alerts need to know about one product."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    product_id: str = Field(min_length=1, max_length=256)
    title: str | None = Field(default=None, max_length=MAX_TITLE)
    url: str | None = Field(default=None, max_length=MAX_URL)
    image_url: str | None = Field(default=None, max_length=MAX_URL)
    # Bounded as the tracking API bounds amounts (and so DynamoDB can hold them).
    price: Decimal | None = Field(default=None, ge=0, le=MAX_PRICE, decimal_places=4)
    currency: str | None = Field(default=None, max_length=3)
    in_stock: bool | None = None
    # Units on hand, when the platform tracks them.
    inventory: int | None = Field(default=None, ge=0, le=MAX_INVENTORY)
    updated_at: datetime  # the platform's own time of this state: older states are ignored
    source: str  # the platform it came from (`shopify`, `woocommerce`)

    def content(self) -> dict[str, object]:
        """The fields a change is judged by (not the time it was reported)."""
        return self.model_dump(exclude={"updated_at"}, mode="json")
