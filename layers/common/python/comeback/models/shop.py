"""A shop: the tenant every other item belongs to, and its settings."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ShopSettings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    cart_reminder_delay_minutes: int = Field(default=60, ge=5, le=60 * 24 * 14)
    reactivation_after_days: int = Field(default=90, ge=1, le=3650)
    currency: str = Field(default="USD", min_length=3, max_length=3)
    from_address: str | None = None
    from_name: str | None = None
    site_url: str | None = None
    postal_address: str | None = None
    # Whether a consent grant sent with the public write key counts. Withdrawals always do.
    # Set False when grants come from your backend (secret key) after a confirmed opt-in.
    accept_client_consent: bool = True


class Shop(BaseModel):
    model_config = ConfigDict(extra="ignore")

    shop_id: str
    name: str
    created_at: datetime
    settings: ShopSettings = Field(default_factory=ShopSettings)
