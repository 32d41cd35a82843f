"""Creating shops and their keys."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from comeback.adapters.store import Store
from comeback.models.shop import Shop, ShopSettings

_SHOP_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@dataclass(frozen=True)
class ShopKeys:
    shop_id: str
    write_key: str  # public: goes into the shop's pages and SDK configuration
    secret_key: str  # private: for server-side APIs only


def valid_shop_id(shop_id: str) -> bool:
    return bool(_SHOP_ID.match(shop_id))


def create_shop(
    store: Store, *, shop_id: str, name: str, settings: ShopSettings, now: datetime
) -> ShopKeys:
    if not _SHOP_ID.match(shop_id):
        raise ValueError("shop id: 2-63 lower-case letters, digits and dashes")
    keys = ShopKeys(
        shop_id=shop_id,
        write_key="wk_" + secrets.token_urlsafe(24),
        secret_key="sk_" + secrets.token_urlsafe(32),
    )
    store.create_shop(
        Shop(shop_id=shop_id, name=name, created_at=now, settings=settings),
        write_key=keys.write_key,
        secret_key=keys.secret_key,
    )
    return keys
