"""The sender's delivery rules on the local stack's tables: suppression and fallback, a push
service refusing our key, SMS text, signed links, retry delays."""

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from comeback import wiring
from comeback.adapters.deliveries import Deliveries
from comeback.adapters.email import TransientSendError
from comeback.adapters.store import job_key
from comeback.clock import iso
from comeback.domain.push import PushSubscription
from comeback.domain.sms_content import segment_info
from comeback.domain.timers import CART_RECOVERY
from comeback.domain.tokens import (
    ClickClaim,
    UnsubscribeClaim,
    sign_click,
    sign_unsubscribe,
    verify_click,
)
from comeback.errors import InvalidInput
from comeback.keys import endpoint_digest
from comeback.models.jobs import MessageJob
from comeback.models.profile import Profile
from comeback.services.sending import RetryLater, deliver, retry_delay
from comeback.settings import SenderSettings, load

from tests.conftest import START, make_shop
from tests.feedback_events import bounce, shop_tags, sns_event
from tests.support import profile_of, sent_emails, shop_items, subscribe

NOW = START + timedelta(hours=2)


class RecordingSms:
    def __init__(self, opted_out=()):
        self.sent, self.opted_out = [], set(opted_out)

    def send(self, phone, text, *, transactional):
        self.sent.append((phone, text, transactional))
        return f"sms-{len(self.sent)}"

    def is_opted_out(self, phone):
        return phone in self.opted_out


def customer(stack, shop, user, **traits):
    shop.post(
        "/v1/identify",
        {"userId": user, "anonymousId": f"anon-{user}", "traits": traits},
        key=shop.keys.secret_key,  # the shop's backend: SMS consent counts only from there
    )
    shop.post(
        "/v1/track",
        {
            "userId": user,
            "event": "Product Added",
            "timestamp": START.isoformat(),
            "properties": {"product_id": "sku-1", "name": "Blue Mug <b>", "price": 9},
        },
    )
    stack.process_events()
    profile = profile_of(stack, shop.shop_id, user)
    return MessageJob(
        shop_id=shop.shop_id,
        profile_id=profile.profile_id,
        kind=CART_RECOVERY,
        subject=iso(profile.cart.updated_at),
        job_key=job_key(CART_RECOVERY, iso(profile.cart.updated_at)),
        claimed_at=NOW,
    )


def context(stack, **parts):
    return replace(wiring.sender_context(load(SenderSettings)), **parts)


def test_a_bounced_address_is_suppressed_and_the_reminder_goes_by_sms(stack):
    shop = make_shop(stack, START, channel_order={"cart_recovery": ["email", "sms"]})
    email = f"bounced-{shop.shop_id}@example.com"
    job = customer(
        stack, shop, "u1", email=email, phone="+4915123456780", consent={"email": True, "sms": True}
    )
    notification = bounce([email], tags=shop_tags(shop.shop_id))
    stack.functions["feedback"].invoke(sns_event(json.dumps(notification)))
    sms = RecordingSms()
    shop_record = stack.store().get_shop(shop.shop_id)
    assert deliver(context(stack, sms=sms), job, shop_record, NOW) == "sent"
    assert sent_emails(stack, email) == []
    [(phone, text, transactional)] = sms.sent
    assert phone == "+4915123456780" and not transactional
    assert text.startswith(f"{shop_record.name}: You left 1 item")
    assert text.endswith("https://shop.example.com/cart Reply STOP to opt out")
    assert segment_info(text).segments <= 2


def test_an_address_suppressed_with_no_other_channel_is_skipped_as_suppressed(stack):
    shop = make_shop(stack, START)
    email = f"complained-{shop.shop_id}@example.com"
    job = customer(stack, shop, "u1", email=email, email_consent=True)
    stack.functions["feedback"].invoke(
        sns_event(json.dumps(bounce([email], tags=shop_tags(shop.shop_id))))
    )
    shop_record = stack.store().get_shop(shop.shop_id)
    assert deliver(context(stack), job, shop_record, NOW) == "skipped:suppressed"


def test_a_push_service_refusing_our_key_keeps_the_subscription_alerts_and_falls_back(stack):
    shop = make_shop(stack, START)
    other_key = "B" + "A" * 86  # not our public key: the peer answers 403 like real services
    browser = stack.push_peer.new_subscriber(application_server_key=other_key)
    email = f"push403-{shop.shop_id}@example.com"
    subscribe(shop, browser, anonymous="anon-u1")
    job = customer(stack, shop, "u1", email=email, email_consent=True)
    alerts = []
    ctx = context(stack, alert=lambda name, fields: alerts.append((name, fields["status"])))
    shop_record = stack.store().get_shop(shop.shop_id)
    assert deliver(ctx, job, shop_record, NOW) == "sent"
    assert alerts == [("PushUnauthorised", 403)]
    assert len(sent_emails(stack, email)) == 1  # the next channel
    assert len(shop_items(stack, shop.shop_id, "push_subscription")) == 1  # kept


def test_a_push_parked_by_429_resumes_for_the_browser_still_owed_and_never_repeats(stack):
    shop = make_shop(stack, START)
    served, busy = (
        stack.push_peer.new_subscriber([201]),
        stack.push_peer.new_subscriber([(429, {"Retry-After": "120"}), 201]),
    )
    for browser in (served, busy):
        subscribe(shop, browser, anonymous="anon-u1")
    job = customer(stack, shop, "u1")
    shop_record = stack.store().get_shop(shop.shop_id)
    ctx = context(stack)
    with pytest.raises(RetryLater) as parked:
        deliver(ctx, job, shop_record, NOW)
    assert parked.value.at == NOW + timedelta(seconds=120)
    assert retry_delay(parked.value, NOW, attempts=1) == 120
    assert deliver(ctx, job, shop_record, NOW + timedelta(minutes=2)) == "sent"
    assert deliver(ctx, job, shop_record, NOW + timedelta(minutes=3)) == "duplicate"
    assert [len(stack.push_peer.received(b)) for b in (served, busy)] == [1, 1]
    attempts = Deliveries(stack.store()).push_attempts(shop.shop_id, job.profile_id, job.job_key)
    assert sorted(attempts.values()) == ["delivered", "delivered"]


def test_throttling_backs_off_exponentially_within_bounds():
    error = TransientSendError("Throttling")
    delays = [retry_delay(error, NOW, attempts) for attempts in (1, 2, 3, 10)]
    assert delays == [30, 60, 120, 900]
    soon = RetryLater(NOW + timedelta(seconds=0.2), "push")
    assert retry_delay(soon, NOW, 1) == 1
    late = RetryLater(NOW + timedelta(days=2), "push")
    assert retry_delay(late, NOW, 1) == 900


def test_click_tokens_are_signed_and_never_pass_as_unsubscribe_tokens(stack):
    key = b"k" * 48
    claim = ClickClaim("shop-a", "p1", "job", "push", "https://shop.example.com/cart")
    token = sign_click(claim, key)
    assert verify_click(token, key) == claim
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        sign_click(claim, b"x" * 48),
        sign_unsubscribe(UnsubscribeClaim("shop-a", "p1", "email", 0), key),
    ):
        with pytest.raises(InvalidInput):
            verify_click(bad, key)
    status, _ = make_shop(stack, START).get("/v1/click?t=" + sign_click(claim, b"x" * 48))
    assert status == 400


def test_one_phone_on_many_profiles_gets_one_text_per_cap_window(stack):
    """SMS pumping: several profiles made up around one number still make one text."""
    shop = make_shop(stack, START, channel_order={"cart_recovery": ["sms"]}, cap_window_hours=24)
    sms = RecordingSms()
    shop_record = stack.store().get_shop(shop.shop_id)
    outcomes = []
    for n in range(4):
        job = customer(stack, shop, f"pump-{n}", phone="+4915123456780", consent={"sms": True})
        # Each its own cart, so that only the cap (not the send record) can stop a text
        job = job.model_copy(update={"job_key": f"{job.job_key}#{n}"})
        outcomes.append(deliver(context(stack, sms=sms), job, shop_record, NOW))
    assert outcomes == ["sent"] + ["skipped:capped"] * 3
    assert len(sms.sent) == 1


def test_the_shops_daily_sms_budget_is_a_ceiling(stack):
    shop = make_shop(stack, START, channel_order={"cart_recovery": ["sms"]}, sms_daily_limit=2)
    sms = RecordingSms()
    shop_record = stack.store().get_shop(shop.shop_id)
    alerts = []
    ctx = context(stack, sms=sms, alert=lambda name, fields: alerts.append(name))
    outcomes = [
        deliver(
            ctx,
            customer(stack, shop, f"b{n}", phone=f"+49151234567{n:02d}", consent={"sms": True}),
            shop_record,
            NOW,
        )
        for n in range(3)
    ]
    assert outcomes == ["sent", "sent", "failed:sms:sms_budget_spent"]
    assert len(sms.sent) == 2 and alerts == ["SmsBudgetSpent"]


def test_premium_rate_and_landline_numbers_get_no_text(stack):
    shop = make_shop(stack, START, channel_order={"cart_recovery": ["sms", "email"]})
    sms = RecordingSms()
    shop_record = stack.store().get_shop(shop.shop_id)
    for n, number in enumerate(("+19005550123", "+4930901820")):
        email = f"landline{n}-{shop.shop_id}@example.com"
        job = customer(
            stack, shop, f"l{n}", phone=number, email=email, consent={"sms": True, "email": True}
        )
        assert deliver(context(stack, sms=sms), job, shop_record, NOW) == "sent"
        assert len(sent_emails(stack, email)) == 1
    assert sms.sent == []


def test_a_channel_that_breaks_falls_back_instead_of_losing_the_message(stack):
    # A relative icon is a shop misconfiguration the push payload refuses.
    shop = make_shop(stack, START, push_icon_url="/icon.png")
    browser = stack.push_peer.new_subscriber()
    subscribe(shop, browser, anonymous="anon-u1")
    email = f"broken-{shop.shop_id}@example.com"
    job = customer(stack, shop, "u1", email=email, email_consent=True)
    alerts = []
    ctx = context(stack, alert=lambda name, fields: alerts.append((name, fields["channel"])))
    assert deliver(ctx, job, stack.store().get_shop(shop.shop_id), NOW) == "sent"
    assert alerts == [("ChannelError", "push")]
    assert len(sent_emails(stack, email)) == 1


class SilentMailer:
    """SES took the request and the answer was lost."""

    def __init__(self):
        self.calls = 0

    def send(self, message, *, sender, recipient, tags=None):
        from comeback.adapters.email import DeliveryUnknown

        self.calls += 1
        raise DeliveryUnknown("SES did not answer")


def test_a_send_whose_answer_was_lost_is_neither_retried_nor_sent_another_way(stack):
    shop = make_shop(stack, START, channel_order={"cart_recovery": ["email", "sms"]})
    email = f"lost-{shop.shop_id}@example.com"
    job = customer(
        stack, shop, "u1", email=email, phone="+4915123456780", consent={"email": True, "sms": True}
    )
    mailer, sms = SilentMailer(), RecordingSms()
    ctx = context(stack, mailer=mailer, sms=sms)
    shop_record = stack.store().get_shop(shop.shop_id)
    assert deliver(ctx, job, shop_record, NOW) == "unknown:DeliveryUnknown"
    assert deliver(ctx, job, shop_record, NOW) == "duplicate"
    assert mailer.calls == 1 and sms.sent == []
    [record] = [r for r in shop_items(stack, shop.shop_id, "send") if r["sk"].count("#") == 2]
    assert record["status"] == "unknown"


def test_push_subscriptions_follow_event_time_not_arrival(stack):
    """A late copy of an older add cannot revive a removed browser, nor an older removal end
    a newer registration."""
    shop = make_shop(stack, START)
    deliveries = Deliveries(stack.store())
    sub = stack.push_peer.new_subscriber().subscription
    t0, t1, t2 = START, START + timedelta(minutes=1), START + timedelta(minutes=2)
    assert deliveries.save_subscription(shop.shop_id, "p1", sub, t0)
    assert deliveries.remove_subscription(shop.shop_id, "p1", sub.endpoint, t1)
    assert not deliveries.save_subscription(shop.shop_id, "p1", sub, t0)  # the late add
    profile = Profile(
        shop_id=shop.shop_id,
        profile_id="p1",
        created_at=t0,
        updated_at=t0,
        push_endpoints=[endpoint_digest(sub.endpoint)],
    )
    assert deliveries.subscriptions_of(profile) == []
    renewed = PushSubscription(sub.endpoint, sub.p256dh, sub.auth)
    assert deliveries.save_subscription(shop.shop_id, "p1", renewed, t2)
    assert not deliveries.remove_subscription(shop.shop_id, "p1", sub.endpoint, t1)  # late
    assert [s.subscription for s in deliveries.subscriptions_of(profile)] == [renewed]


def test_vapid_keys_written_after_a_cold_start_are_picked_up(stack):
    from comeback.adapters.webpush import VapidKeys

    secrets = wiring.client("secretsmanager")
    arn = secrets.create_secret(Name=f"vapid-later-{NOW.timestamp()}", SecretString="x" * 32)["ARN"]
    assert wiring.vapid_keys(arn) is None  # the stack's placeholder: push off
    keys = VapidKeys.generate_local()
    secrets.put_secret_value(SecretId=arn, SecretString=keys.to_json())
    assert wiring.vapid_keys(arn) == keys  # "none yet" was not remembered


def test_a_send_request_is_made_once_even_when_its_answer_is_lost(stack):
    """botocore must not repeat a SendEmail whose answer never came: SES may have sent it."""
    import socket
    import threading
    from email.message import EmailMessage

    import boto3
    from comeback.adapters.email import DeliveryUnknown, SesMailer

    requests_seen = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def swallow():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                requests_seen.append(conn.recv(65536))  # read it, then hang up unanswered

    threading.Thread(target=swallow, daemon=True).start()
    config = wiring.send_client("sesv2").meta.config
    client = boto3.client(
        "sesv2", endpoint_url=f"http://127.0.0.1:{listener.getsockname()[1]}", config=config
    )
    message = EmailMessage()
    message["Subject"] = "hello"
    message.set_content("hello")
    try:
        with pytest.raises(DeliveryUnknown):
            SesMailer(client, None).send(message, sender="a@shop.test", recipient="b@shop.test")
    finally:
        listener.close()
    assert len(requests_seen) == 1
