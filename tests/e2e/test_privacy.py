"""Privacy rights on the local stack: export everything held about a person, then erase them;
afterwards no table holds their identifiers, and a new event with their email sends nothing."""

import base64
import hashlib
import json
import urllib.parse
import urllib.request
from datetime import timedelta

from tests.conftest import START, _send
from tests.support import profile_of, sent_emails, subscribe


def privacy_get(shop, action, key, **query):
    request = urllib.request.Request(
        f"{shop.api_url}/v1/privacy/{action}?{urllib.parse.urlencode(query)}",
        headers={"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()},
    )
    status, body = _send(request)
    return status, json.loads(body)


def everything_stored(stack):
    client = stack.aws.client("dynamodb")
    items = []
    for table in (stack.aws.table_name, stack.aws.timers_table_name):
        request = {"TableName": table}
        while True:
            page = client.scan(**request)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return items


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def test_export_then_erase_leaves_nothing_but_a_suppression(stack, shop):
    secret = shop.keys.secret_key
    email, phone = f"fay-{shop.shop_id}@example.com", "+14155550123"
    stack.clock.set(START)
    # Fay browses on her phone anonymously, then on her laptop, where she is known
    added = {"product_id": "mug", "name": "Blue Mug", "price": 12}
    for anonymous in ("fay-phone", "fay-laptop"):
        track = {"anonymousId": anonymous, "event": "Product Added", "properties": added}
        assert shop.post("/v1/track", track)[0] == 200
    traits = {"email": email, "phone": phone, "email_consent": True, "sms_consent": True}
    identify = {"userId": "fay", "anonymousId": "fay-laptop", "traits": traits}
    assert shop.post("/v1/identify", identify, key=secret)[0] == 200
    browser = stack.push_peer.new_subscriber()
    subscribe(shop, browser, anonymous="fay-laptop")
    stack.process_events()
    # The backend learns the phone browser is hers too (a merge)
    joined = {"anonymousId": "fay-phone", "traits": {"email": email}}
    assert shop.post("/v1/identify", joined, key=secret)[0] == 200
    stack.process_events()
    stack.tick(START + timedelta(hours=1, minutes=15))  # a cart reminder goes out (push)
    assert len(stack.push_peer.received(browser)) == 1
    fay = profile_of(stack, shop.shop_id, "fay")
    profile_ids = [fay.profile_id, *fay.merged_from]
    assert len(profile_ids) == 2

    # The write key cannot read anyone
    assert privacy_get(shop, "export", shop.keys.write_key, email=email)[0] == 401
    status, export = privacy_get(shop, "export", secret, email=email.upper())
    assert status == 200
    assert {
        "user:fay",
        f"email:{email}",
        f"phone:{phone}",
        "anon:fay-laptop",
        "anon:fay-phone",
    } <= set(export["identifiers"])
    assert export["profile"]["profile_id"] == fay.profile_id
    assert [p["profile_id"] for p in export["merged_profiles"]] == fay.merged_from
    assert export["consents"]["email"]["granted"] is True
    assert len(export["events"]) == 5  # 2 adds, identify, subscribe, the join
    assert [m["status"] for m in export["messages"]] == ["sent"]
    assert [s["endpoint"] for s in export["push_subscriptions"]] == [browser.subscription.endpoint]
    assert privacy_get(shop, "profile", secret, userId="fay")[1]["profile"]["email"] == email

    status, body = shop.post("/v1/privacy/erase", {"phone": "+1 415 555 0123"}, key=secret)
    assert status == 200, body
    assert json.loads(body)["profiles"] == 2

    # No table holds anything of hers but the suppression record's digest of her address
    stored = everything_stored(stack)
    text = json.dumps(stored)
    secrets_of_fay = [
        email,
        phone,
        "fay-laptop",
        "fay-phone",
        '"fay"',
        browser.subscription.endpoint,
        *profile_ids,
        *(digest(i) for i in export["identifiers"] if not i.startswith("email:")),
    ]
    for secret_text in secrets_of_fay:
        holding = [
            {k: i[k] for k in ("pk", "sk", "kind") if k in i}
            for i in stored
            if secret_text in json.dumps(i)
        ]
        assert secret_text not in text, (secret_text, holding)
    holding_email = [i for i in stored if digest(email) in json.dumps(i)]
    assert [i["reason"]["S"] for i in holding_email] == ["erased"]
    assert privacy_get(shop, "profile", secret, email=email)[0] == 404

    # She comes back: a new event with her address creates no message to her
    stack.clock.set(START + timedelta(days=1))
    back = {"userId": "fay-2", "traits": {"email": email, "email_consent": True}}
    assert shop.post("/v1/identify", back, key=secret)[0] == 200
    track = {"userId": "fay-2", "event": "Product Added", "properties": added}
    assert shop.post("/v1/track", track, key=secret)[0] == 200
    stack.tick(START + timedelta(days=1, hours=2))
    assert sent_emails(stack, email) == []
    assert len(stack.push_peer.received(browser)) == 1
