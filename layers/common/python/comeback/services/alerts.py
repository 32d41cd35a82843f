"""Saving catalogue products and alerting their watchers, whatever path reported the change
(a platform's product webhook, the product API).

A save that changed the product in a way worth an alert (domain.alerts.alert_for) puts one
message job per watcher on the send queue. The job's key names the product and the change, so
each watcher gets one alert per product and change: a repeated report queues the same jobs
again, and the sender's reservation sends each once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from comeback.adapters.catalogue import Catalogue
from comeback.adapters.queues import QueuePublisher
from comeback.adapters.store import job_key
from comeback.adapters.watchers import Watchers
from comeback.domain.alerts import alert_for, alert_subject
from comeback.jsonutil import dumps
from comeback.models.catalogue import Product
from comeback.models.jobs import MessageJob
from comeback.models.shop import Shop
from comeback.observability import logger

# Jobs are put on the queue in runs of this many, so a product with many watchers is never
# held in memory at once.
PUBLISH_RUN = 500


@dataclass(frozen=True)
class CatalogueOutcome:
    changed: int = 0  # products whose content changed
    alerts: int = 0  # changes worth an alert
    queued: int = 0  # alert jobs put on the send queue


def save_products(
    *,
    shop: Shop,
    products: Iterable[Product],
    catalogue: Catalogue,
    watchers: Watchers,
    publisher: QueuePublisher,
    now: datetime,
) -> CatalogueOutcome:
    """Save each product (older and repeated states change nothing) and alert its watchers
    of a change worth it."""
    min_drop = shop.settings.price_drop_min_percent
    changed = alerts = queued = 0
    for product in products:
        saved = catalogue.record(
            shop.shop_id,
            product,
            lambda previous, new: alert_for(previous, new, min_drop_percent=min_drop),
        )
        changed += saved.changed
        if saved.alert is None:
            continue
        alerts += 1
        count = fan_out(shop.shop_id, product, saved.alert, watchers, publisher, now)
        queued += count
        logger.debug(
            "product alert queued",
            shop_id=shop.shop_id,
            kind=saved.alert,
            watchers=count,
            repeat=not saved.changed,
        )
    return CatalogueOutcome(changed=changed, alerts=alerts, queued=queued)


def fan_out(
    shop_id: str,
    product: Product,
    kind: str,
    watchers: Watchers,
    publisher: QueuePublisher,
    now: datetime,
) -> int:
    """One job per current watcher of the product; returns how many were queued."""
    subject = alert_subject(kind, product)
    key = job_key(kind, subject)
    run: list[str] = []
    total = 0
    for watcher in watchers.watchers_of(shop_id, product.product_id, now):
        job = MessageJob(
            shop_id=shop_id,
            profile_id=watcher.profile_id,
            kind=kind,
            subject=subject,
            job_key=key,
            claimed_at=now,
        )
        run.append(dumps(job.model_dump()))
        if len(run) >= PUBLISH_RUN:
            publisher.publish(run)
            total += len(run)
            run = []
    if run:
        publisher.publish(run)
        total += len(run)
    return total
