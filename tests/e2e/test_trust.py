"""The public write key is public: what a forged client call can and cannot change."""

from datetime import timedelta

from comeback.models.shop import ShopSettings

from tests.conftest import START
from tests.support import profile_of, sent_emails


def test_a_client_call_cannot_redirect_a_known_customers_email(stack, shop):
    victim = f"victim-{shop.shop_id}@example.com"
    attacker = f"attacker-{shop.shop_id}@example.com"
    shop.post("/v1/identify", {"userId": "42", "traits": {"email": victim, "email_consent": True}})
    shop.post(
        "/v1/track", {"userId": "42", "event": "Product Added", "properties": {"product_id": "p"}}
    )
    # When someone with the public write key claims another address for that user
    assert (
        shop.post(
            "/v1/identify", {"userId": "42", "traits": {"email": attacker, "email_consent": True}}
        )[0]
        == 200
    )
    stack.tick(START + timedelta(hours=2))
    # Then the reminder still goes to the customer, and the new address finds nothing
    assert profile_of(stack, shop.shop_id, "42").email == victim
    assert len(sent_emails(stack, victim)) == 1 and sent_emails(stack, attacker) == []
    assert stack.store().find_links(shop.shop_id, [f"email:{attacker}"]) == {}


def test_the_shops_backend_changes_an_address_with_the_secret_key(stack, shop):
    shop.post("/v1/identify", {"userId": "7", "traits": {"email": "old@example.com"}})
    status, _ = shop.post(
        "/v1/identify",
        {"userId": "7", "traits": {"email": "new@example.com"}},
        key=shop.keys.secret_key,
    )
    assert status == 200
    stack.process_events()
    assert profile_of(stack, shop.shop_id, "7").email == "new@example.com"


def test_a_shop_can_refuse_consent_grants_from_clients(stack, shop):
    store = stack.store()
    record = store.get_shop(shop.shop_id)
    strict = record.model_copy(
        update={
            "settings": ShopSettings(
                **{**record.settings.model_dump(), "accept_client_consent": False}
            )
        }
    )
    from comeback import keys
    from comeback.adapters.dynamo_types import to_item

    store._client.put_item(
        TableName=store._table,
        Item=to_item(
            {
                "pk": keys.shop_pk(shop.shop_id),
                "sk": keys.SHOP_SK,
                "kind": "shop",
                **strict.model_dump(),
            }
        ),
    )
    from comeback import wiring

    wiring._shop_cache.clear()
    shop.post(
        "/v1/identify", {"userId": "c", "traits": {"email": "c@example.com", "email_consent": True}}
    )
    stack.process_events()
    assert not profile_of(stack, shop.shop_id, "c").has_consent("email")
    shop.post(
        "/v1/identify", {"userId": "c", "traits": {"email_consent": True}}, key=shop.keys.secret_key
    )
    stack.process_events()
    assert profile_of(stack, shop.shop_id, "c").has_consent("email")
