"""Sweeps: claim what is due and queue one message job per claimed timer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from comeback.adapters.queues import QueuePublisher
from comeback.adapters.store import Store, job_key
from comeback.jsonutil import dumps
from comeback.models.jobs import MessageJob


@dataclass
class SweepResult:
    kind: str
    shops: int = 0
    due: int = 0
    claimed: int = 0


def sweep(
    store: Store,
    publisher: QueuePublisher,
    kind: str,
    *,
    now: datetime,
    lease: timedelta,
    max_items: int,
) -> SweepResult:
    """Claim each due timer with a conditional write, then queue its job.

    A claim moves the timer out of the due range for `lease`; if the job is never completed
    (the sender crashed), the timer falls due again and is re-queued under the same job key,
    which the sender refuses to send twice. The due index is partitioned by day; a cursor per
    shop and kind remembers the first day not yet read to the end, so a run reads that day's
    partition up to today's and nothing older.
    """
    result = SweepResult(kind=kind)
    budget = max_items
    for shop_id in store.list_shop_ids():
        result.shops += 1
        start = store.sweep_cursor(shop_id, kind) or _creation_day(store, shop_id, now)
        finished_through: date | None = None
        jobs: list[str] = []
        day = start
        while day <= now.date() and budget > 0:
            read = 0
            for timer in store.due_timers(shop_id, kind, day, now, limit=budget):
                read += 1
                result.due += 1
                key = job_key(kind, timer.subject)
                if not store.claim_timer(timer, claim_key=key, lease_until=now + lease):
                    continue  # another run took it, or it changed since the query
                result.claimed += 1
                job = MessageJob(
                    shop_id=shop_id,
                    profile_id=timer.profile_id,
                    kind=kind,
                    subject=timer.subject,
                    job_key=key,
                    claimed_at=now,
                )
                jobs.append(dumps(job.model_dump()))
            budget -= read
            if budget > 0 and day < now.date():
                finished_through = day  # a past day, read to the end: nothing more comes
            day += timedelta(days=1)
        if jobs:
            publisher.publish(jobs)
        if finished_through is not None:
            store.advance_sweep_cursor(shop_id, kind, finished_through + timedelta(days=1))
    return result


def _creation_day(store: Store, shop_id: str, now: datetime) -> date:
    shop = store.get_shop(shop_id)
    return shop.created_at.date() if shop else now.date()
