"""Events apply once and messages go once, whatever retries, crashes and races do."""

import threading
from datetime import timedelta

import pytest
from comeback import wiring
from comeback.adapters.email import TransientSendError
from comeback.adapters.queues import QueuePublisher
from comeback.adapters.store import Store
from comeback.clock import iso
from comeback.domain.intake import validate_messages
from comeback.domain.timers import CART_RECOVERY
from comeback.models.shop import ShopSettings
from comeback.services.processing import process_event
from comeback.services.sending import deliver
from comeback.services.sweeping import sweep
from comeback.settings import SenderSettings, load

from tests.conftest import START
from tests.journeys import SINGLE_REMINDER
from tests.support import profile_of, sent_emails, shop_items

RULES = ShopSettings(journeys=SINGLE_REMINDER)

RETENTION = timedelta(days=30)


def accepted(shop_id, message, at=START):
    return validate_messages("track", message, received_at=at, shop_id=shop_id).accepted[0]


class CrashAfterProfile(Store):
    """A processor that stops after writing the profile, before timers and the record."""

    def finish_event(self, *args, **kwargs):
        raise ConnectionError("the Lambda was stopped here")


def test_an_event_whose_run_stopped_half_way_is_repaired_not_counted_twice(stack, shop):
    store = stack.store()
    crashing = CrashAfterProfile(store._client, store._table, store._timers)
    event = accepted(
        shop.shop_id,
        {
            "userId": "u1",
            "messageId": "m-crash",
            "event": "Product Added",
            "properties": {"product_id": "p"},
        },
    )
    with pytest.raises(ConnectionError):
        process_event(crashing, event, RULES, now=START, retention=RETENTION)
    assert shop_items(stack, shop.shop_id, "event") == []

    outcome = process_event(store, event, RULES, now=START, retention=RETENTION)
    assert outcome == "repaired"
    profile = profile_of(stack, shop.shop_id, "u1")
    assert profile.event_count == 1 and set(profile.cart.lines) == {"p"}
    assert len(shop_items(stack, shop.shop_id, "event")) == 1
    due = list(
        store.due_timers(shop.shop_id, CART_RECOVERY, START.date(), START + timedelta(days=1), 10)
    )
    assert [t.profile_id for t in due] == [profile.profile_id]
    assert process_event(store, event, RULES, now=START, retention=RETENTION) == "duplicate"


def test_concurrent_events_of_a_new_person_make_one_profile_and_lose_nothing(stack, shop):
    store = stack.store()
    events = [
        accepted(
            shop.shop_id,
            {
                "userId": "racer",
                "anonymousId": "anon-r",
                "messageId": f"race-{i}",
                "event": "Order Completed",
                "properties": {"order_id": f"o{i}", "total": i + 1},
            },
        )
        for i in range(8)
    ]
    outcomes, errors = [], []

    def apply(event):
        try:
            outcomes.append(
                process_event(
                    store,
                    event,
                    RULES,
                    now=START,
                    retention=RETENTION,
                )
            )
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=apply, args=(e,)) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) == ["applied"] * 8
    profiles = shop_items(stack, shop.shop_id, "profile")
    assert len(profiles) == 1
    assert profiles[0]["orders"]["count"] == 8 and profiles[0]["orders"]["revenue"] == 36


def test_concurrent_events_of_a_new_person_with_different_identifiers_make_one_profile(stack, shop):
    """An identify (email + anonymous id) racing a cart event (anonymous id only): the loser
    must not leave its email link pointing at a profile it never wrote."""
    store = stack.store()
    for round_number in range(6):
        anonymous = f"anon-mix-{round_number}"
        email = f"mix{round_number}-{shop.shop_id}@example.com"
        identify = validate_messages(
            "identify",
            {"anonymousId": anonymous, "traits": {"email": email}, "messageId": f"{anonymous}-i"},
            received_at=START,
            shop_id=shop.shop_id,
        ).accepted[0]
        cart = accepted(
            shop.shop_id,
            {
                "anonymousId": anonymous,
                "messageId": f"{anonymous}-c",
                "event": "Product Added",
                "properties": {"product_id": "p"},
            },
        )
        barrier = threading.Barrier(2)

        def apply(event, barrier=barrier):
            barrier.wait()
            process_event(store, event, RULES, now=START, retention=RETENTION)

        threads = [threading.Thread(target=apply, args=(e,)) for e in (identify, cart)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        links = store.find_links(shop.shop_id, [f"email:{email}", f"anon:{anonymous}"])
        assert len(set(links.values())) == 1, f"round {round_number}: {links}"
        profile = store.get_profile(shop.shop_id, links[f"anon:{anonymous}"])
        assert profile.email == email and profile.event_count == 2
    assert len(shop_items(stack, shop.shop_id, "profile")) == 6


def _abandon(stack, shop, user, at):
    store = stack.store()
    for name, message in (
        (
            "id",
            {
                "type": "identify",
                "userId": user,
                "traits": {"email": f"{user}-{shop.shop_id}@example.com", "email_consent": True},
            },
        ),
        (
            "add",
            {
                "type": "track",
                "userId": user,
                "event": "Product Added",
                "properties": {"product_id": "p"},
            },
        ),
    ):
        call = message.pop("type")
        event = validate_messages(
            call, {**message, "messageId": f"{user}-{name}"}, received_at=at, shop_id=shop.shop_id
        ).accepted[0]
        process_event(store, event, RULES, now=at, retention=RETENTION)


def test_overlapping_sweeps_claim_each_due_item_once_and_read_only_what_is_due(stack, shop):
    # Given 5 carts due now and 20 not due for hours
    for i in range(5):
        _abandon(stack, shop, f"due{i}", START - timedelta(hours=2))
    for i in range(20):
        _abandon(stack, shop, f"later{i}", START + timedelta(hours=5))
    store, sqs = stack.store(), wiring.client("sqs")
    publisher = QueuePublisher(sqs, stack.aws.send_queue_url)
    stack.send_messages()  # leave the send queue empty

    read = []
    real_query = store._client.query

    my_due_range = f"SHOP#{shop.shop_id}#DUE#{CART_RECOVERY}#{START.date()}"

    def counting_query(**kwargs):
        answer = real_query(**kwargs)
        if kwargs["ExpressionAttributeValues"][":due"]["S"] == my_due_range:
            read.append(answer["Count"])
        return answer

    store._client.query = counting_query
    results = []
    try:
        runs = [
            threading.Thread(
                target=lambda: results.append(
                    sweep(
                        store,
                        publisher,
                        CART_RECOVERY,
                        now=START,
                        lease=timedelta(minutes=15),
                        max_items=100,
                    )
                )
            )
            for _ in range(3)
        ]
        for run in runs:
            run.start()
        for run in runs:
            run.join()
    finally:
        store._client.query = real_query
    assert len(results) == 3
    # Each run read this shop's due range: at most the 5 due items, never the 20 not due.
    assert len(read) == 3 and max(read) == 5
    stack.send_messages()
    sent = [e for i in range(5) for e in sent_emails(stack, f"due{i}-{shop.shop_id}@example.com")]
    assert len(sent) == 5
    assert sent_emails(stack, f"later0-{shop.shop_id}@example.com") == []


class FlakyMailer:
    """SES refusing the first attempt with a throttle, then accepting."""

    def __init__(self, real):
        self.real, self.calls = real, 0

    def send(self, message, *, sender, recipient, tags=None):
        self.calls += 1
        if self.calls == 1:
            raise TransientSendError("Throttling")
        return self.real.send(message, sender=sender, recipient=recipient, tags=tags)


def test_a_throttled_send_is_retried_and_a_repeated_job_is_not_sent_again(stack, shop):
    _abandon(stack, shop, "flaky", START)
    store = stack.store()
    [timer] = [
        t
        for t in store.due_timers(
            shop.shop_id, CART_RECOVERY, START.date(), START + timedelta(hours=2), 100
        )
        if t.profile_id == profile_of(stack, shop.shop_id, "flaky").profile_id
    ]
    from comeback.adapters.store import job_key
    from comeback.models.jobs import MessageJob

    key = job_key(CART_RECOVERY, timer.subject)
    assert store.claim_timer(timer, claim_key=key, lease_until=START + timedelta(hours=3))
    job = MessageJob(
        shop_id=shop.shop_id,
        profile_id=timer.profile_id,
        kind=CART_RECOVERY,
        subject=timer.subject,
        job_key=key,
        claimed_at=START,
    )
    context = wiring.sender_context(load(SenderSettings))
    flaky = FlakyMailer(context.mailer)
    context = type(context)(**{**context.__dict__, "mailer": flaky})
    shop_record = store.get_shop(shop.shop_id)
    now = START + timedelta(hours=2)

    with pytest.raises(TransientSendError):
        deliver(context, job, shop_record, now)
    assert deliver(context, job, shop_record, now) == "sent"
    assert deliver(context, job, shop_record, now) == "duplicate"
    assert len(sent_emails(stack, f"flaky-{shop.shop_id}@example.com")) == 1
    assert timer.due_at == iso(START + timedelta(hours=1))


def test_links_a_third_event_adopted_are_not_taken_back(stack, shop):
    """E1 (identify: email + anonymous id, a new profile P1) links the email; E3 (an order
    with that email, another device) reads that link and writes P1 itself; then E1 loses the
    anonymous id to E2 (the visitor's cart). E1 must not take back a link P1 now lives by."""
    store = stack.store()
    email = f"buyer-{shop.shop_id}@example.com"

    def event(call, message):
        return validate_messages(call, message, received_at=START, shop_id=shop.shop_id).accepted[0]

    e1 = event(
        "identify",
        {"anonymousId": "a", "traits": {"email": email, "email_consent": True}, "messageId": "e1"},
    )
    e2 = event(
        "track",
        {
            "anonymousId": "a",
            "event": "Product Added",
            "messageId": "e2",
            "properties": {"product_id": "p", "price": 10},
        },
    )
    e3 = event(
        "track",
        {
            "anonymousId": "other-device",
            "event": "Order Completed",
            "messageId": "e3",
            "context": {"traits": {"email": email}},
            "properties": {"order_id": "o1", "total": 10},
        },
    )
    calls = []

    class Interleaved(Store):
        def link_identifiers(self, shop_id, profile_id, identifiers, at):
            calls.append(profile_id)
            ids = list(identifiers)
            if len(calls) == 1:
                process_event(
                    store,
                    e2,
                    RULES,
                    now=START,
                    retention=RETENTION,
                )
            for n, identifier in enumerate(ids):
                Store.link_identifiers(self, shop_id, profile_id, [identifier], at)
                if len(calls) == 1 and n == 0:
                    process_event(
                        store,
                        e3,
                        RULES,
                        now=START,
                        retention=RETENTION,
                    )

    interleaved = Interleaved(store._client, store._table, store._timers)
    process_event(interleaved, e1, RULES, now=START, retention=RETENTION)

    links = store.find_links(shop.shop_id, [f"email:{email}", "anon:a", "anon:other-device"])
    profiles = {p["profile_id"]: p for p in shop_items(stack, shop.shop_id, "profile")}
    assert set(profiles) <= set(links.values())  # no profile left unreachable
    buyer = profiles[links[f"email:{email}"]]
    assert buyer["orders"]["count"] == 1 and buyer["consent"]["email"]["granted"]
    stack.tick(START + timedelta(hours=1, minutes=5))
    assert sent_emails(stack, email) == []  # no cart reminder after the purchase


def test_a_first_order_adopting_a_half_made_profile_leaves_one_reachable_profile(stack, shop):
    """The demo's case: a new customer's identify (user + email) links the user id, then the
    first order (user id only) finds that link before the identify saved its profile and
    writes the profile itself. One profile must come out, reachable, with both events."""
    store = stack.store()

    def event(call, message):
        return validate_messages(call, message, received_at=START, shop_id=shop.shop_id).accepted[0]

    email = f"x-{shop.shop_id}@example.com"
    identify = event(
        "identify",
        {"userId": "X", "messageId": "id-X", "traits": {"email": email, "email_consent": True}},
    )
    order = event(
        "track",
        {
            "userId": "X",
            "messageId": "order-X",
            "event": "Order Completed",
            "properties": {"order_id": "o1", "total": 10},
        },
    )

    class PausesAfterFirstLink(Store):
        paused = False

        def link_identifiers(self, shop_id, profile_id, identifiers, at):
            identifiers = list(identifiers)
            if not self.paused and len(identifiers) > 1:
                self.paused = True
                super().link_identifiers(shop_id, profile_id, identifiers[:1], at)
                process_event(
                    store,
                    order,
                    RULES,
                    now=START,
                    retention=RETENTION,
                )
                identifiers = identifiers[1:]
            super().link_identifiers(shop_id, profile_id, identifiers, at)

    pausing = PausesAfterFirstLink(store._client, store._table, store._timers)
    process_event(pausing, identify, RULES, now=START, retention=RETENTION)
    [profile] = shop_items(stack, shop.shop_id, "profile")
    assert profile["orders"]["count"] == 1 and profile["email"] == email
    links = store.find_links(shop.shop_id, ["user:X", f"email:{email}"])
    assert set(links.values()) == {profile["profile_id"]}
