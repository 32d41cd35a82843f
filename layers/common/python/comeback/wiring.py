"""Builds what the handlers use (clients, repository, clock) on first use, not at import.

Tests and the local runner swap parts with `override(...)`; in AWS everything comes from the
function's environment. Clients honour `AWS_ENDPOINT_URL`, which is how a local run points
the very same code at moto's server.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from comeback.adapters.secrets import SecretReader
from comeback.adapters.store import Store
from comeback.clock import Clock, SystemClock
from comeback.models.shop import Shop
from comeback.settings import SenderSettings, StoreSettings

if TYPE_CHECKING:  # imported where used: only the sender pays for pywebpush, SES and SNS
    from comeback.adapters.webpush import VapidKeys, WebPushClient
    from comeback.services.sending import SenderContext

_overrides: dict[str, Any] = {}
_lock = threading.Lock()
SHOP_CACHE_SECONDS = 60.0


def override(**parts: Any) -> None:
    """Replace parts (`clock`, `mailer`, ...) for a local run or a test."""
    _overrides.update(parts)


def reset() -> None:
    _overrides.clear()
    client.cache_clear()
    send_client.cache_clear()
    _secrets.cache_clear()
    _push_client.cache_clear()
    _vapid_cache.clear()
    _shop_cache.clear()
    _webhook_books.clear()
    _webhook_misses.clear()


def clock() -> Clock:
    return _overrides.get("clock") or _SYSTEM_CLOCK


_SYSTEM_CLOCK = SystemClock()


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        config=Config(
            retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20
        ),
    )


@cache
def send_client(service: str) -> Any:
    """A client for the calls that send (SES SendEmail, SNS Publish): no automatic retries.
    botocore would repeat a request whose answer was lost, and the provider may have sent it
    already; throttling is retried by the send queue instead, with backoff."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=5,
            read_timeout=20,
        ),
    )


def store(settings: StoreSettings) -> Store:
    return _overrides.get("store") or Store(
        client("dynamodb"), settings.table_name, settings.timers_table_name
    )


_shop_cache: dict[tuple[str, str], tuple[float, Shop | None]] = {}
MAX_CACHED_SHOPS = 1_000


def shop(settings: StoreSettings, shop_id: str) -> Shop | None:
    """A shop's settings, cached briefly: they are read on every event and change rarely."""
    key = (settings.table_name, shop_id)
    with _lock:
        cached = _shop_cache.get(key)
    if cached and time.monotonic() - cached[0] < SHOP_CACHE_SECONDS:
        return cached[1]
    found = store(settings).get_shop(shop_id)
    if found is not None:  # unknown ids (anyone can send them) are not remembered
        with _lock:
            if len(_shop_cache) >= MAX_CACHED_SHOPS:
                _shop_cache.clear()
            _shop_cache[key] = (time.monotonic(), found)
    return found


@cache
def _secrets() -> SecretReader:
    return SecretReader(client("secretsmanager"))


def signing_key(secret_arn: str) -> bytes:
    return _overrides.get("signing_key") or _secrets().key(secret_arn)


def push_client(settings: SenderSettings) -> WebPushClient | None:
    """The web push client for the stored VAPID pair; None while none is stored (push then
    fails over to the next channel)."""
    if "push" in _overrides:
        return _overrides["push"]
    keys = vapid_keys(settings.vapid_secret_arn)
    return _push_client(keys) if keys is not None else None


@cache
def _push_client(keys: VapidKeys) -> WebPushClient:
    from comeback.adapters.webpush import WebPushClient

    return WebPushClient(keys)


VAPID_CACHE_SECONDS = 300.0
_vapid_cache: dict[str, tuple[float, VapidKeys]] = {}


def vapid_keys(secret_arn: str | None) -> VapidKeys | None:
    """The VAPID key pair, or None while the secret holds the stack's placeholder. A pair is
    cached for a few minutes (so `comeback vapid-keys` reaches warm functions soon); "none
    yet" is never cached."""
    if not secret_arn:
        return None
    with _lock:
        cached = _vapid_cache.get(secret_arn)
    if cached and time.monotonic() - cached[0] < VAPID_CACHE_SECONDS:
        return cached[1]
    from comeback.adapters.webpush import VapidKeys

    text = _secrets().text(secret_arn)
    if not text.strip().startswith("{"):
        return None
    keys = VapidKeys.from_json(text)
    with _lock:
        _vapid_cache[secret_arn] = (time.monotonic(), keys)
    return keys


WEBHOOK_SECRET_CACHE_SECONDS = 60.0
# A shop or platform missing from the cached secret is looked up again, at most this often
# per shop: a secret just added works at once, and no stream of bad requests for one shop
# becomes a stream of Secrets Manager calls.
WEBHOOK_MISS_RETRY_SECONDS = 5.0
_webhook_books: dict[str, tuple[float, dict[str, dict[str, str]]]] = {}
# When a lookup last missed, per shop and platform: a miss re-reads the secret at most every
# few seconds for that shop (one added a minute ago works at once). Bounded: callers are
# unauthenticated and may name any number of made-up shops.
_webhook_misses: dict[tuple[str, str, str], float] = {}
MAX_WEBHOOK_MISSES = 1_000


def webhook_secret(secret_arn: str, shop_id: str, platform: str) -> str | None:
    """A shop's webhook secret for one platform, or None. The secret holding every shop's is
    read at most once a minute (a rotated secret reaches warm functions within a minute)."""
    from comeback.domain.webhooks.signatures import parse_book

    now = time.monotonic()
    with _lock:
        cached = _webhook_books.get(secret_arn)
        missed_at = _webhook_misses.get((secret_arn, shop_id, platform))
    fresh = cached is not None and now - cached[0] < WEBHOOK_SECRET_CACHE_SECONDS
    found = cached[1].get(shop_id, {}).get(platform) if cached else None
    retry = found is None and (missed_at is None or now - missed_at >= WEBHOOK_MISS_RETRY_SECONDS)
    if not fresh or retry:
        book = parse_book(_secrets().text(secret_arn))
        found = book.get(shop_id, {}).get(platform)
        with _lock:
            _webhook_books[secret_arn] = (now, book)
            if found is None:
                if len(_webhook_misses) >= MAX_WEBHOOK_MISSES:
                    _webhook_misses.clear()
                _webhook_misses[(secret_arn, shop_id, platform)] = now
    return found


def sender_context(settings: SenderSettings) -> SenderContext:
    from comeback.adapters.email import SesMailer
    from comeback.adapters.sms import SnsSms
    from comeback.adapters.suppressions import Suppressions
    from comeback.services.sending import SenderContext

    return SenderContext(
        store=store(settings),
        mailer=_overrides.get("mailer")
        or SesMailer(send_client("sesv2"), settings.ses_configuration_set),
        signing_key=signing_key(settings.signing_secret_arn),
        public_base_url=settings.public_base_url,
        retention=timedelta(days=settings.send_record_retention_days),
        default_from_address=settings.default_from_address,
        push=push_client(settings),
        sms=_overrides.get("sms") or (SnsSms(send_client("sns")) if settings.sms_enabled else None),
        suppressions=Suppressions(client("dynamodb"), settings.table_name),
        alert=_alert,
    )


def _alert(name: str, fields: dict[str, Any]) -> None:
    from comeback.observability import logger, metrics

    logger.warning("operator alert", alert=name, **fields)
    metrics.add_metric(name=name, unit="Count", value=1)
