"""The customer profile: one item per person per shop, bounded in size whatever the history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["email", "sms", "push"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "push")

MAX_ANONYMOUS_IDS = 10
MAX_OTHER_IDENTIFIERS = 20
MAX_RECENT_ORDER_IDS = 20
MAX_RECENT_MESSAGES = 20
MAX_CART_LINES = 50
MAX_TRAITS = 50
MAX_TRAIT_BYTES = 1024
# Browsers (push subscriptions) remembered per person; the oldest is forgotten first.
MAX_PUSH_SUBSCRIPTIONS = 10
# Marketing sends remembered per channel for the frequency cap (the most recent ones).
MAX_RECENT_SENDS = 20
# Profiles absorbed by merges remembered per profile, and user ids a merged profile answers to.
MAX_MERGED_FROM = 50
MAX_OTHER_USER_IDS = 10
# On-site messages remembered per person (for the per-day limit).
MAX_RECENT_ONSITE = 10


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=False)


class CartLine(_Model):
    product_id: str
    name: str | None = None
    price: Decimal | None = None
    quantity: int = 1
    url: str | None = None
    image_url: str | None = None
    updated_at: datetime


class Cart(_Model):
    cart_id: str | None = None
    currency: str = "USD"
    lines: dict[str, CartLine] = Field(default_factory=dict)
    # When each recently removed line went, so that a late copy of an older add is ignored.
    removed: dict[str, datetime] = Field(default_factory=dict)
    updated_at: datetime
    checkout_started_at: datetime | None = None
    # The last time the person was at the cart without changing it (viewed it, started the
    # checkout): a return that ends a reminder journey, as a change does.
    returned_at: datetime | None = None
    # Where the person can pick the cart up again, when the shop's platform gave a link
    # (Shopify's abandoned-checkout URL): the reminder's link then, instead of the site's cart.
    restore_url: str | None = None

    @property
    def value(self) -> Decimal:
        return sum(
            ((line.price or Decimal(0)) * line.quantity for line in self.lines.values()),
            start=Decimal(0),
        )

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines.values())

    @property
    def last_activity_at(self) -> datetime:
        """The last time the person changed the cart or came back to it."""
        return max(self.updated_at, self.returned_at or self.updated_at)


class ViewedProduct(_Model):
    product_id: str
    name: str | None = None


MAX_VIEWED_PRODUCTS = 3


class Browsing(_Model):
    """Product views since the person's last cart activity or order: what a browse-abandonment
    message is about. Names only: a link goes to the shop's site, never to a URL a browser
    sent us."""

    views: int = 0
    last_viewed_at: datetime
    products: list[ViewedProduct] = Field(default_factory=list)  # latest first


class ConsentDecision(_Model):
    granted: bool
    at: datetime
    source: str


class OrderStats(_Model):
    count: int = 0
    revenue: Decimal = Decimal(0)
    first_at: datetime | None = None
    last_at: datetime | None = None
    currency: str | None = None
    recent_ids: list[str] = Field(default_factory=list)
    # Purchase occasions (distinct UTC days with an order) and what the first day's orders
    # brought: the value models count occasions and value repeat purchases only. None on
    # profiles written before they existed (read as one occasion per order).
    occasions: int | None = None
    first_day_revenue: Decimal | None = None

    @property
    def average_value(self) -> Decimal | None:
        if not self.count:
            return None
        return (self.revenue / self.count).quantize(Decimal("0.01"))


class MessageStats(_Model):
    sent: int = 0
    last_sent_at: datetime | None = None
    last_by_kind: dict[str, datetime] = Field(default_factory=dict)
    # When the person last entered each journey (held out or not): its re-entry cooldown.
    entered_by_kind: dict[str, datetime] = Field(default_factory=dict)
    sent_by_channel: dict[str, int] = Field(default_factory=dict)
    # When the latest marketing messages went out, per channel (the frequency cap's memory).
    recent_marketing: dict[str, list[datetime]] = Field(default_factory=dict)


class OnsiteStats(_Model):
    """What the browser snippet reported: page views, and the on-site messages shown (the
    server-side frequency limit; see domain.onsite)."""

    page_views: int = 0
    shown_at: list[datetime] = Field(default_factory=list)
    last_shown_by_kind: dict[str, datetime] = Field(default_factory=dict)


class ProfileValue(_Model):
    """What the weekly value fit (services.valuation) made of this customer."""

    scored_at: datetime
    rfm: str  # recency, frequency and monetary scores, 1 to 5 each: "545"
    segment: str  # champions, loyal, ..., lost (domain.value.rfm)
    probability_alive: float | None = None
    expected_purchases: float | None = None  # in the shop's value horizon
    predicted_value: Decimal | None = None  # revenue in that horizon, discounted
    # When P(alive) falls below the shop's `reactivation_p_alive_below` (if it has one).
    reactivate_at: datetime | None = None
    purchases_per_year: float | None = None  # since the first purchase


class Profile(_Model):
    shop_id: str
    profile_id: str
    version: int = 0
    created_at: datetime
    updated_at: datetime
    user_id: str | None = None
    anonymous_ids: list[str] = Field(default_factory=list)
    # Other identifiers that lead here (`device:…`, `loyalty:…`, `ext:<type>:…`), newest last.
    other_identifiers: list[str] = Field(default_factory=list)
    email: str | None = None
    phone: str | None = None  # E.164
    timezone: str | None = None  # IANA name, e.g. Europe/Berlin
    # Digests of the endpoints of this person's browser push subscriptions (the subscription
    # items themselves are keyed by that digest; see adapters.push_subscriptions).
    push_endpoints: list[str] = Field(default_factory=list)
    traits: dict[str, Any] = Field(default_factory=dict)
    consent: dict[str, ConsentDecision] = Field(default_factory=dict)
    orders: OrderStats = Field(default_factory=OrderStats)
    first_seen_at: datetime | None = None
    last_activity_at: datetime | None = None
    cart: Cart | None = None
    cart_closed_at: datetime | None = None
    browsing: Browsing | None = None
    # The category of the last product viewed (Segment's `category`): what a win-back names.
    last_viewed_category: str | None = None
    messages: MessageStats = Field(default_factory=MessageStats)
    onsite: OnsiteStats = Field(default_factory=OnsiteStats)
    # The last activity the win-back timer was set for (see domain.timers).
    reactivation_armed_for: datetime | None = None
    event_count: int = 0
    value: ProfileValue | None = None
    # Merging (domain.merging): the profiles absorbed into this one (so each is absorbed once),
    # the other user ids it now answers to, and, on an absorbed profile, where it went.
    merged_from: list[str] = Field(default_factory=list)
    other_user_ids: list[str] = Field(default_factory=list)
    merged_into: str | None = None
    # Short digests of the last events applied: lets a retry of an event whose run stopped
    # half-way see that the profile already has it (see services.processing).
    recent_messages: list[str] = Field(default_factory=list)

    def has_consent(self, channel: Channel) -> bool:
        decision = self.consent.get(channel)
        return bool(decision and decision.granted)

    def derived(self) -> dict[str, Any]:
        """Values computed from the counters, stored beside them for readers of the table."""
        return {
            "average_order_value": self.orders.average_value,
            # What the customer has brought in so far (historical customer value).
            "historical_value": self.orders.revenue,
        }
