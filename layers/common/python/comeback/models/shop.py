"""A shop: the tenant every other item belongs to, and its settings."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from comeback.models.journey import (
    Journey,
    default_browse_journey,
    default_cart_journey,
    default_winback_journey,
)
from comeback.models.profile import CHANNELS, MAX_RECENT_SENDS, Channel

DEFAULT_CHANNEL_ORDER: dict[str, list[Channel]] = {
    "cart_recovery": ["push", "email", "sms"],
    "reactivation": ["email", "push", "sms"],
    "browse_abandonment": ["email", "push"],
    "back_in_stock": ["email", "push", "sms"],
    "price_drop": ["email", "push", "sms"],
}


OrderStatus = Literal["completed", "shipped", "updated", "cancelled", "refunded"]


def default_journeys() -> dict[str, Journey]:
    return {
        "cart_recovery": default_cart_journey(),
        "browse_abandonment": default_browse_journey(),
        "reactivation": default_winback_journey(),
    }


class OrderStatusMessages(BaseModel):
    """Transactional messages when the shop's backend reports an order's progress. Off until
    the shop turns them on: most shop platforms already send order emails of their own."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    statuses: list[OrderStatus] = Field(
        default_factory=lambda: ["completed", "shipped", "cancelled", "refunded"]
    )
    # Email needs no marketing consent for these (they are part of the order); SMS and push
    # still need the person's consent for the channel.
    channels: list[Channel] = Field(default_factory=lambda: ["email", "sms"], min_length=1)


class ShopSettings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Journeys by trigger: "cart_recovery" (an abandoned cart), "browse_abandonment" (product
    # views without a cart) and "reactivation" (a customer gone quiet). A shop's journeys
    # replace the defaults one trigger at a time.
    journeys: dict[str, Journey] = Field(default_factory=default_journeys)
    order_status_messages: OrderStatusMessages = Field(default_factory=OrderStatusMessages)
    # Browse abandonment starts after this many product views with no cart or order since.
    browse_min_views: int = Field(default=3, ge=1, le=100)
    # A customer lapses (the win-back journey's trigger) after this many quiet days.
    reactivation_after_days: int = Field(default=90, ge=1, le=3650)
    # Win back repeat customers when their probability of being alive (BG/NBD, weekly value
    # fit) falls below this, rather than after `reactivation_after_days`; one-time buyers and
    # shops without a fitted model keep the quiet-days rule.
    reactivation_p_alive_below: float | None = Field(default=None, gt=0, lt=1)
    currency: str = Field(default="USD", min_length=3, max_length=3)
    from_address: str | None = None
    from_name: str | None = None
    site_url: str | None = None
    postal_address: str | None = None
    # Whether a consent grant sent with the public write key counts. Withdrawals always do.
    # Set False when grants come from your backend (secret key) after a confirmed opt-in.
    accept_client_consent: bool = True
    # Back-in-stock and price-drop alerts go to people who asked for them, and to those who
    # viewed or carted the product within this many days; a price drop counts from this much.
    alert_watch_days: int = Field(default=30, ge=1, le=365)
    price_drop_min_percent: Decimal = Field(default=Decimal(1), ge=0, le=100)

    # Delivery: which channels each message kind tries, in order (the first one with consent
    # and an address is used; the next only if that one fails for good).
    channel_order: dict[str, list[Channel]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_CHANNEL_ORDER.items()}
    )
    # Frequency cap on marketing messages, per person and channel, over a rolling window.
    cap_messages: int = Field(default=1, ge=1, le=MAX_RECENT_SENDS)
    cap_window_hours: int = Field(default=16, ge=1, le=24 * 30)
    # Quiet hours in the recipient's time zone (the profile's, else the shop's).
    quiet_hours_start: time | None = time(21, 0)
    quiet_hours_end: time | None = time(8, 0)
    timezone: str = "UTC"
    # Region for phone numbers written without a country code (ISO 3166 alpha-2, e.g. "DE").
    default_phone_region: str | None = Field(default=None, min_length=2, max_length=2)
    sms_sender_name: str | None = Field(default=None, max_length=11)
    # A ceiling on SMS a day: texts cost money, and anyone can sign up with a number.
    sms_daily_limit: int = Field(default=500, ge=0, le=1_000_000)
    push_icon_url: str | None = None

    # The browser snippet (docs/browser.md). When to offer push: "add_to_cart", "page_views:N"
    # or "never"; never on a visitor's first page view, and only after a click on our own
    # soft prompt. A "Not now" or a refusal is not asked again for the cooldown.
    push_prompt_after: str = Field(
        default="add_to_cart", pattern=r"^(add_to_cart|never|page_views:[1-9][0-9]{0,2})$"
    )
    push_prompt_cooldown_days: int = Field(default=30, ge=1, le=365)
    # Send nothing from browsers that signal Do Not Track or Global Privacy Control.
    respect_privacy_signals: bool = True
    # On-site pop-ups (cart reminder on exit intent, sign-up offer), at most this many per
    # visitor a day; the sign-up offer only with a `signup_url`, after that many page views.
    onsite_messages: bool = True
    onsite_max_per_day: int = Field(default=1, ge=0, le=20)
    onsite_signup_after_page_views: int = Field(default=3, ge=1, le=1000)
    signup_url: str | None = None

    @field_validator("channel_order")
    @classmethod
    def _known_channels(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for kind, order in value.items():
            if not order or len(set(order)) != len(order):
                raise ValueError(f"channel_order.{kind}: list each channel at most once")
            unknown = set(order) - set(CHANNELS)
            if unknown:
                raise ValueError(f"channel_order.{kind}: unknown channel {sorted(unknown)[0]}")
        return value

    @field_validator("journeys")
    @classmethod
    def _known_journeys(cls, value: dict[str, Journey]) -> dict[str, Journey]:
        defaults = default_journeys()
        unknown = set(value) - set(defaults)
        if unknown:
            raise ValueError(f"journeys: no trigger named {sorted(unknown)[0]!r}")
        return {**defaults, **value}

    @field_validator("from_name", "sms_sender_name", "postal_address")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        """Goes into mail headers and texts: printable, one line."""
        if value is not None and not value.isprintable():
            raise ValueError("must be one line of printable text")
        return value

    @field_validator("site_url")
    @classmethod
    def _site_link(cls, value: str | None) -> str | None:
        """Put in messages as the shop's address: an absolute http(s) URL."""
        if value is not None and not value.lower().startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("push_icon_url", "signup_url")
    @classmethod
    def _page_links(cls, value: str | None) -> str | None:
        """Used on the shop's own pages: an http(s) URL or a path on the shop's site (never
        `javascript:`, `data:` or a protocol-relative `//host`)."""
        if value is None:
            return value
        relative = value.startswith("/") and not value.startswith("//")
        if not relative and not value.lower().startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL or a path starting with /")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from comeback.domain.quiet_hours import zone

        zone(value)
        return value


class Shop(BaseModel):
    model_config = ConfigDict(extra="ignore")

    shop_id: str
    name: str
    created_at: datetime
    settings: ShopSettings = Field(default_factory=ShopSettings)
