"""Delivering one claimed message job: decide again, reserve, pick a channel, send, record.

Channels are tried in the shop's order for the kind of message; the next is tried only when one
fails for good (no browser subscription left, an opted-out phone, an address the provider
refuses). The reservation of the job makes every retry resume rather than repeat: a message a
provider accepted is never sent again, and a push message parked by a 429 is resumed for the
browsers still owed it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from comeback.adapters.catalogue import Catalogue
from comeback.adapters.deliveries import (
    Deliveries,
    Reservation,
    spend_sms_budget,
    take_address_slot,
)
from comeback.adapters.email import (
    DeliveryUnknown,
    Mailer,
    PermanentSendError,
    TransientSendError,
)
from comeback.adapters.sms import SmsSender
from comeback.adapters.store import Store
from comeback.adapters.webpush import WebPushClient
from comeback.domain import sending
from comeback.domain.alerts import ALERT_KINDS, product_id_of
from comeback.domain.email_content import build_mime, render, unsubscribe_url
from comeback.domain.frequency import after_send, cap_frees_at, is_transactional
from comeback.domain.journeys import (
    NEVER_ENTERED,
    StepSubject,
    journey_for,
    next_step_due,
    parse_subject,
    step_of,
)
from comeback.domain.merging import MAX_MERGE_HOPS
from comeback.domain.order_status import ORDER_STATUS, OrderUpdate, parse_order_subject
from comeback.domain.push import build_payload, classify_push_response, delivery_options
from comeback.domain.short_content import short_content
from comeback.domain.sms_content import DEFAULT_OPT_OUT, compose_sms
from comeback.domain.timers import CART_RECOVERY, TimerChange, journey_trigger
from comeback.domain.tokens import (
    ClickClaim,
    UnsubscribeClaim,
    sign_click,
    sign_unsubscribe,
)
from comeback.models.catalogue import Product
from comeback.models.jobs import MessageJob
from comeback.models.journey import Incentive
from comeback.models.profile import ConsentDecision, Profile
from comeback.models.shop import Shop
from comeback.services.cart_restore import cart_link, new_cart_claim

MAX_SMS_SEGMENTS = 2
SMS_NAME_CHARS = 20  # a long shop name must not crowd out the message
CAP_ATTEMPTS = 3
DEFAULT_RETRY = timedelta(seconds=60)
# How late a sweep may find a due step on time (the cart sweep runs every 5 minutes): a start
# that late is on time, and does not move the journey's later steps.
SWEEP_SLACK = timedelta(minutes=15)


class RetryLater(TransientSendError):
    """Worth trying again, not before `at` (a push service's Retry-After)."""

    def __init__(self, at: datetime, reason: str) -> None:
        super().__init__(reason)
        self.at = at


@dataclass(frozen=True)
class SenderContext:
    store: Store
    mailer: Mailer
    signing_key: bytes
    public_base_url: str
    retention: timedelta
    default_from_address: str | None = None
    push: WebPushClient | None = None
    sms: SmsSender | None = None
    suppressions: Any = None  # adapters.suppressions.Suppressions, when feedback is wired
    # Told about conditions an operator must look at (a push service refusing our VAPID key).
    alert: Callable[[str, dict[str, Any]], None] = field(default=lambda name, fields: None)


@dataclass(frozen=True)
class Sent:
    detail: str


@dataclass(frozen=True)
class FailedForGood:
    reason: str


ChannelResult = Sent | FailedForGood


MAX_RETRY_DELAY_SECONDS = 900  # the longest an SQS message may be hidden is 12 h; keep it short


def retry_delay(error: TransientSendError, now: datetime, attempts: int) -> int:
    """Seconds until a failed job is tried again."""
    backoff = min(30 * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY_SECONDS)
    if isinstance(error, RetryLater):
        asked = int((error.at - now).total_seconds() + 0.999)
        return max(1, min(max(asked, 1), MAX_RETRY_DELAY_SECONDS))
    return backoff


def deliver(ctx: SenderContext, job: MessageJob, shop: Shop | None, now: datetime) -> str:
    """Returns the outcome (`sent`, `skipped:<reason>`, `rearmed`, `duplicate`, `failed:...`).

    Raises TransientSendError (RetryLater: not before its time) for failures worth retrying;
    the reservation is parked first, so the retry resumes it.
    """
    store = ctx.store
    if shop is None:
        return "skipped:shop_gone"
    profile = store.get_profile(job.shop_id, job.profile_id)
    product = None
    if job.kind in ALERT_KINDS or job.kind == ORDER_STATUS:
        job, profile = _follow_merges(store, job, profile)
    if job.kind in ALERT_KINDS:
        product = Catalogue.of(store).get_product(job.shop_id, product_id_of(job.subject))
    decision = sending.decide(
        profile,
        job,
        shop.settings,
        now,
        email_suppressed=_suppressed(ctx, job, profile),
        product=product,
    )
    if isinstance(decision, sending.Rearm):
        rearmed = store.rearm_timer(
            job.shop_id,
            job.profile_id,
            job.kind,
            job.job_key,
            decision.due_at,
            decision.subject,
            now,
        )
        if not rearmed and job.kind in ALERT_KINDS:
            # Queued straight from the product change, with no timer: one holds it till then.
            # NOTE: one held alert per person and kind; a later one held the same night
            # replaces it (the frequency cap would mostly hold the second back anyway).
            change = TimerChange(job.kind, decision.due_at, decision.subject)
            store.apply_timers(job.shop_id, job.profile_id, [change], now)
        return "rearmed"
    if profile is None:
        # Erased (or never saved): leave nothing behind in the person's partition.
        store.finish_timer(job.shop_id, job.profile_id, job.kind, job.job_key)
        return "skipped:profile_gone"
    step = parse_subject(job.subject).step if job.kind in sending.JOURNEY_KINDS else None
    if isinstance(decision, sending.Skip):
        reason = decision.reason
        store.record_skip(
            job.shop_id,
            job.profile_id,
            job.job_key,
            kind=job.kind,
            reason=reason,
            at=now,
            retention=ctx.retention,
            step=step,
        )
        if step is None or reason not in sending.STAY_IN_JOURNEY:
            store.finish_timer(job.shop_id, job.profile_id, job.kind, job.job_key)
        if step == 0 and reason not in NEVER_ENTERED:
            store.record_journey_entry(job.shop_id, job.profile_id, job.kind, now)
        if step is not None and reason in sending.STAY_IN_JOURNEY:
            _next_step(store, job, profile, shop, now, sent=False)
        return f"skipped:{reason}"

    deliveries = Deliveries(store)
    reservation = deliveries.reserve(
        job.shop_id,
        job.profile_id,
        job.job_key,
        kind=job.kind,
        at=now,
        retention=ctx.retention,
        step=step,
    )
    if reservation is None:
        # Sent (or being sent) by an earlier attempt: never twice. A journey goes on (an
        # attempt that stopped after sending may not have moved it to its next step).
        _next_step(store, job, profile, shop, now, sent=True)
        return "duplicate"
    if step == 0:
        store.record_journey_entry(job.shop_id, job.profile_id, job.kind, now)
    try:
        outcome = _send_by_first_working_channel(
            ctx, deliveries, reservation, decision.channels, job, profile, shop, now
        )
    except TransientSendError as exc:
        at = exc.at if isinstance(exc, RetryLater) else now + DEFAULT_RETRY
        deliveries.retry_later(job.shop_id, job.profile_id, job.job_key, at)
        raise
    _next_step(store, job, profile, shop, now, sent=outcome == "sent")
    return outcome


def _next_step(
    store: Store, job: MessageJob, profile: Profile, shop: Shop, now: datetime, *, sent: bool
) -> None:
    """Move a journey's timer on to its next step, or remove it after the last one (or for a
    message that is no journey's). Only the holder of the step's claim moves it: a timer reset
    meanwhile (a new cart) is left alone, and a repeated job moves nothing twice."""
    subject = parse_subject(job.subject)
    journey = journey_for(job.kind, shop.settings) if job.kind in sending.JOURNEY_KINDS else None
    trigger = journey_trigger(job.kind, profile, shop.settings) if journey else None
    if journey and trigger:
        # A journey whose start waited (the re-entry cooldown) counts its steps from when it
        # really started, so its messages keep their designed spacing.
        started = now if subject.step == 0 else profile.messages.entered_by_kind.get(job.kind)
        if started is not None:
            first_delay = timedelta(minutes=journey.steps[0].delay_minutes)
            trigger = max(trigger, started - first_delay - SWEEP_SLACK)
    due = (
        next_step_due(journey, trigger, subject.step, now, sent=sent)
        if journey and trigger
        else None
    )
    if due is None:
        store.finish_timer(job.shop_id, job.profile_id, job.kind, job.job_key)
        return
    following = str(StepSubject(subject.state, subject.step + 1))
    store.rearm_timer(job.shop_id, job.profile_id, job.kind, job.job_key, due, following, now)


def _send_by_first_working_channel(
    ctx: SenderContext,
    deliveries: Deliveries,
    reservation: Reservation,
    channels: tuple[str, ...],
    job: MessageJob,
    profile: Profile,
    shop: Shop,
    now: datetime,
) -> str:
    store = ctx.store
    if reservation.resumed and reservation.channel in channels:
        channels = channels[channels.index(reservation.channel) :]
    failures: list[str] = []
    for channel in channels:
        resuming = reservation.resumed and reservation.channel == channel
        if not (resuming and reservation.cap_taken):
            taken = _take_cap_slot(ctx, deliveries, profile, channel, job.kind, shop, now)
            if taken is None:
                return _skip_capped(store, job, now, channel)
            profile = taken
            if not _take_address_slot(ctx, channel, job.kind, profile, shop, now):
                return _skip_capped(store, job, now, f"{channel}:address")
        deliveries.note_channel(job.shop_id, job.profile_id, job.job_key, channel, cap_taken=True)
        try:
            result = _SENDERS[channel](ctx, deliveries, job, profile, shop, now)
        except DeliveryUnknown as exc:
            # It may have gone out: neither retried nor sent again by another channel.
            store.finish_send(
                job.shop_id, job.profile_id, job.job_key, status="unknown", at=now, detail=channel
            )
            ctx.alert("DeliveryUnknown", {"shop_id": job.shop_id, "channel": channel})
            return f"unknown:{type(exc).__name__}"
        except TransientSendError:
            raise
        except Exception as exc:  # noqa: BLE001 - one channel's bug must not lose the message
            ctx.alert("ChannelError", {"shop_id": job.shop_id, "channel": channel})
            result = FailedForGood(f"error:{type(exc).__name__}")
        if isinstance(result, Sent):
            store.finish_send(
                job.shop_id,
                job.profile_id,
                job.job_key,
                status="sent",
                at=now,
                detail=f"{channel}:{result.detail}",
            )
            store.record_message_sent(job.shop_id, job.profile_id, job.kind, now)
            return "sent"
        failures.append(f"{channel}:{result.reason}")
    detail = ", ".join(failures)
    store.finish_send(
        job.shop_id, job.profile_id, job.job_key, status="failed", at=now, detail=detail
    )
    return f"failed:{detail}"


def _follow_merges(
    store: Store, job: MessageJob, profile: Profile | None
) -> tuple[MessageJob, Profile | None]:
    """A product alert or order update for a profile merged into another goes to that one
    (the watch or the order was noted before the merge); the job key is unchanged, so each
    person gets it once."""
    for _ in range(MAX_MERGE_HOPS):
        if profile is None or profile.merged_into is None:
            break
        job = job.model_copy(update={"profile_id": profile.merged_into})
        profile = store.get_profile(job.shop_id, job.profile_id)
    return job, profile


def _alert_product(ctx: SenderContext, job: MessageJob) -> Product | None:
    if job.kind not in ALERT_KINDS:
        return None
    return Catalogue.of(ctx.store).get_product(job.shop_id, product_id_of(job.subject))


def _cart_link(ctx: SenderContext, job: MessageJob, now: datetime) -> str | None:
    """A cart reminder's link: our signed, expiring restore-cart page (it shows the cart with
    no login or cookie, and sends the person on to the checkout). Not yet click-tracked."""
    if job.kind != CART_RECOVERY:
        return None
    claim = new_cart_claim(job.shop_id, job.profile_id, parse_subject(job.subject).state, now)
    return cart_link(ctx.public_base_url, claim, ctx.signing_key)


def _order_of(job: MessageJob) -> OrderUpdate | None:
    """The order and status an order-status job is about."""
    return parse_order_subject(job.subject) if job.kind == ORDER_STATUS else None


def _incentive(job: MessageJob, shop: Shop) -> Incentive | None:
    """The offer of the journey step the job is, if it carries one."""
    if job.kind not in sending.JOURNEY_KINDS:
        return None
    journey = journey_for(job.kind, shop.settings)
    step = step_of(journey, parse_subject(job.subject).step) if journey else None
    return step.incentive if step else None


def _skip_capped(store: Store, job: MessageJob, now: datetime, where: str) -> str:
    """A capped message is recorded as skipped, not dropped silently."""
    store.finish_send(
        job.shop_id,
        job.profile_id,
        job.job_key,
        status="skipped",
        at=now,
        detail=f"{sending.CAPPED}:{where}",
    )
    return f"skipped:{sending.CAPPED}"


def _take_cap_slot(
    ctx: SenderContext,
    deliveries: Deliveries,
    profile: Profile,
    channel: str,
    kind: str,
    shop: Shop,
    now: datetime,
) -> Profile | None:
    """The profile after taking one slot of the channel's frequency cap, or None if capped.
    Transactional messages are exempt. A slot is kept even if the send then fails: the cap
    errs on the side of fewer messages."""
    if is_transactional(kind):
        return profile
    settings = shop.settings
    window = timedelta(hours=settings.cap_window_hours)
    current: Profile | None = profile
    for _ in range(CAP_ATTEMPTS):
        if current is None:
            return None
        recent = current.messages.recent_marketing.get(channel, [])
        if cap_frees_at(recent, now, window, settings.cap_messages) is not None:
            return None
        updated = after_send(recent, now, window)
        if deliveries.take_cap_slot(current, channel, updated):
            history = {**current.messages.recent_marketing, channel: updated}
            messages = current.messages.model_copy(update={"recent_marketing": history})
            return current.model_copy(update={"messages": messages, "version": current.version + 1})
        current = ctx.store.get_profile(current.shop_id, current.profile_id)
    raise TransientSendError("the profile kept changing while taking a frequency-cap slot")


def _take_address_slot(
    ctx: SenderContext, channel: str, kind: str, profile: Profile, shop: Shop, now: datetime
) -> bool:
    """The cap again, per phone number or email address (see deliveries.take_address_slot)."""
    address = {"email": profile.email, "sms": profile.phone}.get(channel)
    if address is None or is_transactional(kind):
        return True
    settings = shop.settings
    window = timedelta(hours=settings.cap_window_hours)

    def recent_after(history: list[datetime]) -> list[datetime] | None:
        if cap_frees_at(history, now, window, settings.cap_messages) is not None:
            return None
        return after_send(history, now, window)

    return take_address_slot(ctx.store, profile.shop_id, channel, address, recent_after)


def _suppressed(ctx: SenderContext, job: MessageJob, profile: Profile | None) -> bool:
    if ctx.suppressions is None or profile is None or not profile.email:
        return False
    return bool(ctx.suppressions.is_suppressed(job.shop_id, profile.email))


def _tracked(ctx: SenderContext, job: MessageJob, channel: str, url: str) -> str:
    """A link through our click-tracking redirect (its target signed: no open redirect)."""
    if not url.startswith(("https://", "http://")):
        return url
    token = sign_click(
        ClickClaim(job.shop_id, job.profile_id, job.job_key, channel, url), ctx.signing_key
    )
    return f"{ctx.public_base_url.rstrip('/')}/v1/click?t={quote(token, safe='')}"


# -- email -----------------------------------------------------------------------------------


def _send_email(
    ctx: SenderContext,
    deliveries: Deliveries,
    job: MessageJob,
    profile: Profile,
    shop: Shop,
    now: datetime,
) -> ChannelResult:
    sender_address = shop.settings.from_address or ctx.default_from_address
    if not sender_address:
        raise PermanentSendError("the shop has no from_address configured")
    if not profile.email:
        return FailedForGood("no_address")
    token = sign_unsubscribe(
        UnsubscribeClaim(job.shop_id, job.profile_id, "email", int(now.timestamp())),
        ctx.signing_key,
    )
    link = unsubscribe_url(ctx.public_base_url, token)
    product = _alert_product(ctx, job)
    product_link = _tracked(ctx, job, "email", product.url) if product and product.url else None
    restore = _cart_link(ctx, job, now)
    content = render(
        job.kind,
        profile,
        shop,
        link,
        product=product,
        product_link=product_link,
        cart_link=_tracked(ctx, job, "email", restore) if restore else None,
        step=parse_subject(job.subject).step,
        incentive=_incentive(job, shop),
        track=lambda url: _tracked(ctx, job, "email", url),
        order=_order_of(job),
    )
    mime = build_mime(
        content,
        from_address=sender_address,
        from_name=shop.settings.from_name or shop.name,
        to=profile.email,
        unsubscribe_link=link,
        now=now,
        message_kind=job.kind,
    )
    try:
        provider_id = ctx.mailer.send(
            mime,
            sender=sender_address,
            recipient=profile.email,
            tags={"shop": job.shop_id, "kind": job.kind},
        )
    except PermanentSendError as exc:
        return FailedForGood(f"refused:{exc}")
    return Sent(provider_id)


# -- browser push ----------------------------------------------------------------------------

DELIVERED = "delivered"


def _send_push(
    ctx: SenderContext,
    deliveries: Deliveries,
    job: MessageJob,
    profile: Profile,
    shop: Shop,
    now: datetime,
) -> ChannelResult:
    """Every browser the person subscribed gets the message once; 404/410 remove exactly that
    subscription, 413 neither retries nor removes, 429/5xx park the job until Retry-After,
    401/403 keep the subscription and alert the operator."""
    if ctx.push is None:
        return FailedForGood("push_not_configured")
    subscriptions = deliveries.subscriptions_of(profile)
    earlier = deliveries.push_attempts(job.shop_id, job.profile_id, job.job_key)
    delivered = sum(1 for status in earlier.values() if status in (DELIVERED, "sending"))
    if not subscriptions and not delivered:
        return FailedForGood("no_subscription")
    content = short_content(
        job.kind,
        profile,
        shop,
        product=_alert_product(ctx, job),
        cart_link=_cart_link(ctx, job, now),  # tracked with the payload's URL below
        incentive=_incentive(job, shop),
        order=_order_of(job),
    )
    payload = build_payload(
        title=content.title,
        body=content.body,
        url=_tracked(ctx, job, "push", content.url) or ctx.public_base_url,
        icon=shop.settings.push_icon_url,
        tag=job.kind,
    )
    ttl, urgency = delivery_options(job.kind)
    retry_at: datetime | None = None
    for stored in subscriptions:
        if stored.digest in earlier or not deliveries.start_push_attempt(
            job.shop_id,
            job.profile_id,
            job.job_key,
            stored.digest,
            at=now,
            retention=ctx.retention,
        ):
            continue
        try:
            answer = ctx.push.send(stored.subscription, payload, ttl=ttl, urgency=urgency, now=now)
        except TransientSendError:
            deliveries.release_push_attempt(job.shop_id, job.profile_id, job.job_key, stored.digest)
            retry_at = min(retry_at or now + DEFAULT_RETRY, now + DEFAULT_RETRY)
            continue
        except PermanentSendError:
            deliveries.finish_push_attempt(
                job.shop_id, job.profile_id, job.job_key, stored.digest, "refused"
            )
            continue
        except DeliveryUnknown:
            # Maybe delivered: never tried again, and not counted as a delivery.
            deliveries.finish_push_attempt(
                job.shop_id, job.profile_id, job.job_key, stored.digest, "unknown"
            )
            continue
        outcome = classify_push_response(answer.status, answer.retry_after, now)
        if outcome.kind == "retry":
            deliveries.release_push_attempt(job.shop_id, job.profile_id, job.job_key, stored.digest)
            at = outcome.retry_at or now + DEFAULT_RETRY
            retry_at = min(retry_at or at, at)
            continue
        deliveries.finish_push_attempt(
            job.shop_id, job.profile_id, job.job_key, stored.digest, outcome.kind
        )
        if outcome.kind == DELIVERED:
            delivered += 1
        elif outcome.kind == "gone":
            deliveries.forget_gone(job.shop_id, stored)
        elif outcome.kind == "unauthorised":
            ctx.alert("PushUnauthorised", {"shop_id": job.shop_id, "status": answer.status})
    if retry_at is not None:
        raise RetryLater(retry_at, "a push service asked us to retry later")
    if delivered:
        return Sent(f"{delivered} browser(s)")
    return FailedForGood("no_subscription_accepted")


# -- SMS -------------------------------------------------------------------------------------


def _send_sms(
    ctx: SenderContext,
    deliveries: Deliveries,
    job: MessageJob,
    profile: Profile,
    shop: Shop,
    now: datetime,
) -> ChannelResult:
    if ctx.sms is None:
        return FailedForGood("sms_not_configured")
    if not profile.phone:
        return FailedForGood("no_address")
    if not _is_mobile(profile.phone):
        return FailedForGood("not_a_mobile_number")  # premium-rate, freephone, landline
    if ctx.sms.is_opted_out(profile.phone):
        # The person replied STOP to the carrier: that is a withdrawal of SMS consent.
        ctx.store.record_consent(
            job.shop_id,
            job.profile_id,
            "sms",
            ConsentDecision(granted=False, at=now, source="sms_opt_out"),
        )
        return FailedForGood("opted_out")
    content = short_content(
        job.kind,
        profile,
        shop,
        product=_alert_product(ctx, job),
        incentive=_incentive(job, shop),
        order=_order_of(job),
    )
    # The shop's own link, untracked: a signed tracking link would take a whole segment. It
    # goes with the opt-out instruction, which trimming never touches.
    text = sms_text(content.body, content.url, shop)
    if not spend_sms_budget(
        ctx.store, job.shop_id, now.date().isoformat(), shop.settings.sms_daily_limit
    ):
        ctx.alert("SmsBudgetSpent", {"shop_id": job.shop_id})
        return FailedForGood("sms_budget_spent")
    try:
        message_id = ctx.sms.send(profile.phone, text, transactional=is_transactional(job.kind))
    except PermanentSendError as exc:
        return FailedForGood(f"refused:{exc}")
    return Sent(message_id)


def sms_text(body: str, url: str, shop: Shop) -> str:
    """The text of an SMS: the body, the link and the opt-out, in two segments at most. A link
    too long for that (a shop's very long URL) is left out rather than failing the send."""
    sender_name = shop.settings.sms_sender_name or shop.name[:SMS_NAME_CHARS]
    for opt_out in (f"{url} {DEFAULT_OPT_OUT}".strip(), DEFAULT_OPT_OUT):
        try:
            return compose_sms(
                body, opt_out=opt_out, sender_name=sender_name, max_segments=MAX_SMS_SEGMENTS
            )
        except ValueError:
            continue
    raise PermanentSendError("the sender name and opt-out leave no room for a message")


def _is_mobile(e164: str) -> bool:
    import phonenumbers  # on first SMS only: its metadata is large

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(number)
    return kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


_SENDERS: dict[str, Callable[..., ChannelResult]] = {
    "email": _send_email,
    "push": _send_push,
    "sms": _send_sms,
}
