"""The product API, for the shop's backend (its secret key): `POST /v1/products` with
`{"products": [{"product_id", "title", "url", "image_url", "price", "currency", "in_stock",
"inventory", "updated_at"?}]}`. Each product is saved to the catalogue as a platform webhook
saves it, and a change worth it alerts the product's watchers (services.alerts)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from comeback.adapters.catalogue import Catalogue
from comeback.adapters.queues import QueuePublisher
from comeback.adapters.store import Store
from comeback.adapters.watchers import Watchers
from comeback.clock import ensure_utc
from comeback.domain.commerce import id_text, to_amount
from comeback.domain.intake import check_values, read_document
from comeback.errors import InvalidInput, PayloadTooLarge, Unauthorized
from comeback.models.catalogue import MAX_URL, Product
from comeback.models.shop import Shop
from comeback.services.alerts import CatalogueOutcome, save_products
from comeback.services.intake import authenticate_backend

MAX_BODY_BYTES = 500 * 1024
MAX_PRODUCTS = 100
SOURCE = "api"


class ProductUpdate(BaseModel):
    """One product as the shop's backend reports it."""

    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=256)
    title: str | None = None
    url: str | None = Field(default=None, max_length=MAX_URL)
    image_url: str | None = Field(default=None, max_length=MAX_URL)
    price: Any = None
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    in_stock: bool | None = Field(default=None, strict=True)
    inventory: int | None = Field(default=None, ge=0, strict=True)
    updated_at: datetime | None = None

    @field_validator("product_id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        return id_text(value)

    @field_validator("url", "image_url")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        """Put in our messages as links: absolute http(s) only."""
        if value is not None and not value.lower().startswith(("https://", "http://")):
            raise ValueError("must be an absolute http(s) URL")
        return value

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: Any) -> Any:
        return to_amount(value)

    def product(self, received_at: datetime) -> Product:
        # A state "from the future" would shadow every real update until then: it is now.
        at = ensure_utc(self.updated_at) if self.updated_at else received_at
        return Product(
            product_id=self.product_id,
            title=self.title,
            url=self.url,
            image_url=self.image_url,
            price=self.price,
            currency=self.currency.upper() if self.currency else None,
            in_stock=self.in_stock,
            inventory=self.inventory,
            updated_at=min(at, received_at),
            source=SOURCE,
        )


def parse_products(document: dict[str, Any], received_at: datetime) -> list[Product]:
    """Every product of the body, or InvalidInput naming each bad one (nothing is saved)."""
    raw = document.get("products")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("`products` must be a non-empty list")
    if len(raw) > MAX_PRODUCTS:
        raise InvalidInput(f"at most {MAX_PRODUCTS} products per request")
    products: list[Product] = []
    rejected: list[dict[str, Any]] = []
    for index, entry in enumerate(raw):
        try:
            if not isinstance(entry, dict):
                raise ValueError("each product must be a JSON object")
            products.append(ProductUpdate.model_validate(entry).product(received_at))
        except (ValidationError, ValueError, ArithmeticError) as exc:
            rejected.append({"index": index, "error": _first_error(exc)})
    if rejected:
        raise InvalidInput("some products are invalid; none was saved", details=rejected)
    return products


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where}: {error['msg']}" if where else str(error["msg"])
    return str(exc)


def receive(
    *,
    body: bytes,
    authorization: str | None,
    store: Store,
    shop_for: Callable[[str], Shop | None],
    catalogue: Catalogue,
    watchers: Watchers,
    publisher: QueuePublisher,
    received_at: datetime,
) -> tuple[str, CatalogueOutcome, int]:
    """Authenticate by the secret key, validate, save and alert: (shop id, outcome, count)."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is over the {MAX_BODY_BYTES // 1024} KB limit")
    document, key = read_document(body, authorization)
    shop_id = authenticate_backend(store, key, "product")
    shop = shop_for(shop_id)
    if shop is None:
        raise Unauthorized("unknown write key")
    check_values(document)
    products = parse_products(document, received_at)
    outcome = save_products(
        shop=shop,
        products=products,
        catalogue=catalogue,
        watchers=watchers,
        publisher=publisher,
        now=received_at,
    )
    return shop_id, outcome, len(products)
