"""Back-in-stock and price-drop alerts: which change of a product is worth an alert, who watches
a product and for how long, and whether an alert still holds when it is about to go out.
Pure: products and times in, decisions out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from comeback.clock import iso
from comeback.models.catalogue import Product

PRICE_DROP = "price_drop"
BACK_IN_STOCK = "back_in_stock"
ALERT_KINDS = (BACK_IN_STOCK, PRICE_DROP)

# Why a person watches a product, weakest first.
VIEWED = "viewed"
CARTED = "carted"
ASKED = "asked"
WATCH_REASONS = (VIEWED, CARTED, ASKED)
# Someone who asked to be told is told for longer than someone who only looked.
ASKED_WATCH_DAYS = 180


def purchasable(product: Product) -> bool:
    """In stock, as far as the platform says: not marked out of stock, and not 0 units."""
    return product.in_stock is not False and product.inventory != 0


def alert_for(
    previous: Product | None, new: Product, *, min_drop_percent: Decimal = Decimal(1)
) -> str | None:
    """The one alert (if any) the change from `previous` to `new` is worth.

    Back in stock wins over a price drop in the same change (its message shows the price).
    A first sighting of a product, a change of currency, a price rise or a change of other
    fields is worth nothing; a price drop only counts while the product can be bought.
    """
    if previous is None or previous.content() == new.content():
        return None
    if not purchasable(new):
        return None
    if not purchasable(previous):
        return BACK_IN_STOCK
    if is_price_drop(previous.price, new.price, min_drop_percent) and _same_currency(previous, new):
        return PRICE_DROP
    return None


def is_price_drop(old: Decimal | None, new: Decimal | None, min_drop_percent: Decimal) -> bool:
    if old is None or new is None or old <= 0 or new >= old:
        return False
    return (old - new) * 100 >= old * min_drop_percent


def _same_currency(previous: Product, new: Product) -> bool:
    return (previous.currency or "").upper() == (new.currency or "").upper()


def still_holds(kind: str, product: Product | None, subject: str) -> str | None:
    """None if the alert named by `subject` may still go out for `product` as it is now, else
    why not: the product is gone or sold out again, or (a price drop) its price is no longer
    the one announced. A further drop is a change of its own, with its own alert."""
    if product is None:
        return "product_gone"
    if not purchasable(product):
        return "out_of_stock"
    if kind == PRICE_DROP:
        _, price, _ = subject.split("|", 2)
        if not price or product.price is None or Decimal(price) != product.price:
            return "price_changed"
    return None


# -- job subjects: the change an alert is about --------------------------------------------


def alert_subject(kind: str, product: Product) -> str:
    """Names the product and the change: one alert per watcher, product and change. The
    product id comes last (it may hold any character); the sender reads it back."""
    price = "" if product.price is None or kind != PRICE_DROP else str(product.price)
    return f"{iso(product.updated_at)}|{price}|{product.product_id}"


def parse_subject(subject: str) -> tuple[str, str]:
    """The change's time (ISO) and the product id of an alert's subject."""
    changed_at, _, product_id = subject.split("|", 2)
    return changed_at, product_id


def product_id_of(subject: str) -> str:
    return parse_subject(subject)[1]


# -- wording -------------------------------------------------------------------------------

MAX_TITLE_IN_MESSAGES = 80


def product_title(product: Product) -> str:
    """The product's title on one line, short enough for a subject or a text."""
    title = " ".join((product.title or "").split()) or "A product you looked at"
    if len(title) > MAX_TITLE_IN_MESSAGES:
        title = title[: MAX_TITLE_IN_MESSAGES - 3].rstrip() + "..."
    return title


def price_text(product: Product) -> str:
    if product.price is None:
        return "cheaper"
    return f"{product.price:.2f} {product.currency or ''}".strip()


# -- watches -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Watch:
    reason: str
    at: datetime
    expires_at: datetime


def watch_for(reason: str, at: datetime, watch_days: int) -> Watch:
    days = ASKED_WATCH_DAYS if reason == ASKED else watch_days
    return Watch(reason=reason, at=at, expires_at=at + timedelta(days=max(days, watch_days)))
