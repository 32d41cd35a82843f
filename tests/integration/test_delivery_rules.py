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
from comeback.models.jobs import MessageJob
from comeback.services.sending import RetryLater, deliver, retry_delay
from comeback.settings import SenderSettings, load

from tests.conftest import START, make_shop
from tests.feedback_events import bounce, shop_tags, sns_event
from tests.support import profile_of, sent_emails, shop_items

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
        stack, shop, "u1", email=email, phone="+4930901820", consent={"email": True, "sms": True}
    )
    notification = bounce([email], tags=shop_tags(shop.shop_id))
    stack.functions["feedback"].invoke(sns_event(json.dumps(notification)))
    sms = RecordingSms()
    shop_record = stack.store().get_shop(shop.shop_id)
    assert deliver(context(stack, sms=sms), job, shop_record, NOW) == "sent"
    assert sent_emails(stack, email) == []
    [(phone, text, transactional)] = sms.sent
    assert phone == "+4930901820" and not transactional
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
    sub = browser.subscription
    shop.post(
        "/v1/push/subscribe",
        {
            "userId": "u1",
            "subscription": {
                "endpoint": sub.endpoint,
                "keys": {"p256dh": sub.p256dh, "auth": sub.auth},
            },
        },
    )
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
        sub = browser.subscription
        shop.post(
            "/v1/push/subscribe",
            {
                "userId": "u1",
                "subscription": {
                    "endpoint": sub.endpoint,
                    "keys": {"p256dh": sub.p256dh, "auth": sub.auth},
                },
            },
        )
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
