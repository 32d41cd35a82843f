"""Sweeps: claim what is due and queue one message job per claimed timer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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


def sweep(store: Store, publisher: QueuePublisher, kind: str, *, now: datetime,
          lease: timedelta, max_items: int) -> SweepResult:
    """Claim each due timer with a conditional write, then queue its job.

    A claim moves the timer out of the due range for `lease`; if the job is never completed
    (the sender crashed), the timer falls due again and is re-queued under the same job key,
    which the sender refuses to send twice.
    """
    result = SweepResult(kind=kind)
    for shop_id in store.list_shop_ids():
        result.shops += 1
        jobs: list[str] = []
        for timer in store.due_timers(shop_id, kind, now, limit=max_items):
            result.due += 1
            key = job_key(kind, timer.subject)
            if not store.claim_timer(timer, claim_key=key, lease_until=now + lease):
                continue  # another run took it, or it changed since the query
            result.claimed += 1
            job = MessageJob(shop_id=shop_id, profile_id=timer.profile_id, kind=kind,
                             subject=timer.subject, job_key=key, claimed_at=now)
            jobs.append(dumps(job.model_dump()))
        if jobs:
            publisher.publish(jobs)
    return result
