"""Key layout of the single table. Every key of shop data starts with the shop, so no key built
here can reach another shop's items."""

from __future__ import annotations

import hashlib
from datetime import date

SHOP_REGISTRY_PK = "SHOPS"
PROFILE_SK = "PROFILE"
SHOP_SK = "SHOP"
IDENTITY_SK = "ID"
EVENT_SK = "EVENT"
WRITE_KEY_SK = "WRITEKEY"
TIMER_SK_PREFIX = "TIMER#"
SEND_SK_PREFIX = "SEND#"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_shop_id(shop_id: str) -> str:
    if not shop_id or "#" in shop_id:
        raise ValueError("invalid shop id")
    return shop_id


def shop_pk(shop_id: str) -> str:
    return f"SHOP#{_check_shop_id(shop_id)}"


def write_key_pk(write_key: str) -> str:
    """Write keys are stored only as a SHA-256 digest (they are long random tokens)."""
    return f"WRITEKEY#{digest(write_key)}"


def profile_pk(shop_id: str, profile_id: str) -> str:
    return f"{shop_pk(shop_id)}#PROFILE#{profile_id}"


def identity_pk(shop_id: str, identifier: str) -> str:
    """Identifiers (emails, user ids) are hashed so keys carry no personal data."""
    return f"{shop_pk(shop_id)}#ID#{digest(identifier)}"


def event_pk(shop_id: str, message_id: str) -> str:
    return f"{shop_pk(shop_id)}#MSG#{digest(message_id)}"


def timer_sk(kind: str) -> str:
    return f"{TIMER_SK_PREFIX}{kind}"


def due_pk(shop_id: str, kind: str, day: date) -> str:
    """One partition of the due index per shop, kind and due day: a sweep reads today's (and
    any older day it has not finished), and no partition grows with the number of customers."""
    return f"{shop_pk(shop_id)}#DUE#{kind}#{day.isoformat()}"


def sweep_cursor_pk(shop_id: str, kind: str) -> str:
    return f"{shop_pk(shop_id)}#SWEEP#{kind}"


SWEEP_CURSOR_SK = "CURSOR"


def endpoint_digest(endpoint: str) -> str:
    """A push endpoint's short name: the URL itself is a bearer capability, kept out of keys."""
    return digest(endpoint)[:32]


def push_subscription_pk(shop_id: str, endpoint: str) -> str:
    return f"{shop_pk(shop_id)}#PUSH#{endpoint_digest(endpoint)}"


def push_subscription_pk_for_digest(shop_id: str, endpoint_hash: str) -> str:
    return f"{shop_pk(shop_id)}#PUSH#{endpoint_hash}"


PUSH_SUBSCRIPTION_SK = "SUB"


def send_sk(job_key: str) -> str:
    return f"{SEND_SK_PREFIX}{job_key}"


PRODUCT_SK = "PRODUCT"


def product_pk(shop_id: str, product_id: str) -> str:
    """A catalogue product, one item each: alerts on it (back in stock, price drop) read it
    by id. The platform's id is hashed, so any text it holds stays out of the key's shape."""
    return f"{shop_pk(shop_id)}#PRODUCT#{digest(product_id)[:32]}"


def product_watch_pk(shop_id: str, product_id: str) -> str:
    """Who watches a product (one item per person, `watch_sk`): alerts query this partition
    only, so a change costs reads in proportion to the product's watchers."""
    return f"{shop_pk(shop_id)}#WATCH#{digest(product_id)[:32]}"


WATCH_SK_PREFIX = "PROFILE#"


def watch_sk(profile_id: str) -> str:
    return f"{WATCH_SK_PREFIX}{profile_id}"


def suppression_key(shop_id: str, address: str) -> dict[str, str]:
    """An address a shop must not email: one item per address in the shop's suppression
    partition, named by the address's digest (the address itself is kept out of keys). The
    `EMAIL#` prefix leaves room for other channels' suppressions beside it."""
    return {"pk": f"{shop_pk(shop_id)}#SUPPRESSION", "sk": f"EMAIL#{digest(address)}"}
