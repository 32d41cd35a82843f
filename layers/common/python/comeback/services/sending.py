"""Delivering one claimed message job: decide again, reserve, send, record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from comeback.adapters.email import Mailer, PermanentSendError, TransientSendError
from comeback.adapters.store import Store
from comeback.domain import sending
from comeback.domain.email_content import build_mime, render, unsubscribe_url
from comeback.domain.tokens import UnsubscribeClaim, sign_unsubscribe
from comeback.models.jobs import MessageJob
from comeback.models.shop import Shop


@dataclass(frozen=True)
class SenderContext:
    store: Store
    mailer: Mailer
    signing_key: bytes
    public_base_url: str
    retention: timedelta
    default_from_address: str | None = None


def deliver(ctx: SenderContext, job: MessageJob, shop: Shop | None, now: datetime) -> str:
    """Returns the outcome (`sent`, `skipped:<reason>`, `rearmed`, `duplicate`, `failed:...`).

    Raises TransientSendError for failures worth retrying; the reservation is released first.
    """
    store = ctx.store
    if shop is None:
        return "skipped:shop_gone"
    profile = store.get_profile(job.shop_id, job.profile_id)
    decision = sending.decide(profile, job, shop.settings, now)
    if isinstance(decision, sending.Rearm):
        store.rearm_timer(
            job.shop_id,
            job.profile_id,
            job.kind,
            job.job_key,
            decision.due_at,
            decision.subject,
            now,
        )
        return "rearmed"
    if isinstance(decision, sending.Skip):
        store.record_skip(
            job.shop_id,
            job.profile_id,
            job.job_key,
            kind=job.kind,
            reason=decision.reason,
            at=now,
            retention=ctx.retention,
        )
        store.finish_timer(job.shop_id, job.profile_id, job.kind, job.job_key)
        return f"skipped:{decision.reason}"

    if profile is None:  # decide() only says "send" for a profile it has
        return "skipped:profile_gone"
    sender_address = shop.settings.from_address or ctx.default_from_address
    if not sender_address:
        raise PermanentSendError("the shop has no from_address configured")
    if not store.start_send(
        job.shop_id,
        job.profile_id,
        job.job_key,
        channel="email",
        kind=job.kind,
        at=now,
        retention=ctx.retention,
    ):
        # Sent (or being sent) by an earlier attempt: never twice.
        store.finish_timer(job.shop_id, job.profile_id, job.kind, job.job_key)
        return "duplicate"
    token = sign_unsubscribe(
        UnsubscribeClaim(job.shop_id, job.profile_id, "email", int(now.timestamp())),
        ctx.signing_key,
    )
    link = unsubscribe_url(ctx.public_base_url, token)
    content = render(job.kind, profile, shop, link)
    mime = build_mime(
        content,
        from_address=sender_address,
        from_name=shop.settings.from_name or shop.name,
        to=decision.to,
        unsubscribe_link=link,
        now=now,
        message_kind=job.kind,
    )
    try:
        provider_id = ctx.mailer.send(mime, sender=sender_address, recipient=decision.to)
    except PermanentSendError as exc:
        store.finish_send(
            job.shop_id, job.profile_id, job.job_key, status="failed", at=now, detail=str(exc)
        )
        store.finish_timer(job.shop_id, job.profile_id, job.kind, job.job_key)
        return f"failed:{exc}"
    except TransientSendError:
        # Known not to have gone out: release the reservation so a retry can send it. Any
        # other failure (a timeout after SES may have accepted it) keeps the reservation:
        # better one reminder lost than two sent.
        store.abandon_send(job.shop_id, job.profile_id, job.job_key)
        raise
    store.finish_send(
        job.shop_id, job.profile_id, job.job_key, status="sent", at=now, detail=provider_id
    )
    store.record_message_sent(job.shop_id, job.profile_id, job.kind, now)
    store.finish_timer(job.shop_id, job.profile_id, job.kind, job.job_key)
    return "sent"
