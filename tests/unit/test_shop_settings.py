"""Changing a shop's settings: a patch merged into the current settings, validated as a
whole, refused with a readable reason (and nothing saved) when it names an unknown setting or
an invalid value, and saved under an optimistic lock that re-applies it after a lost race."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from comeback.adapters.dynamo_types import from_item
from comeback.adapters.shop_records import ShopRecord, settings_attribute
from comeback.errors import ConcurrentUpdate, InvalidInput, NotFound, TemporarilyUnavailable
from comeback.models.journey import Incentive, default_cart_journey, default_winback_journey
from comeback.models.shop import Shop, ShopSettings
from comeback.services.shop_settings import (
    apply_change,
    change_settings,
    parse_changes,
    read_settings,
)

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "settings" / "journeys.json"


@dataclass
class MemoryRecords:
    """ShopRecords in memory: one shop, its version, and races made to order."""

    shop: Shop | None
    version: int = 0
    races: list[dict] = field(default_factory=list)  # patches someone else saves first
    saves: int = 0

    def read(self, shop_id):
        if self.shop is None or shop_id != self.shop.shop_id:
            return None
        return ShopRecord(self.shop.model_copy(deep=True), self.version)

    def save_settings(self, shop_id, settings, *, read_version, now):
        if self.races:
            raced = self.races.pop(0)
            self._store(self.shop.settings.model_copy(update=raced))
        if read_version != self.version:
            raise ConcurrentUpdate("changed meanwhile")
        self._store(settings)
        return self.version

    def _store(self, settings):
        self.shop = self.shop.model_copy(update={"settings": settings})
        self.version += 1
        self.saves += 1


def records(**settings):
    shop = Shop(shop_id="s", name="S", created_at=NOW, settings=ShopSettings(**settings))
    return MemoryRecords(shop)


def example_journeys():
    return json.loads(EXAMPLE.read_text())["journeys"]


def test_a_patch_changes_the_settings_it_names_and_keeps_the_others():
    store = records(currency="EUR", from_name="Ann's Shop")
    settings = change_settings(store, "s", {"cap_messages": 2, "from_name": "Bob's"}, NOW)
    assert (settings.cap_messages, settings.from_name) == (2, "Bob's")
    assert settings.currency == "EUR"  # not named: kept
    assert store.shop.settings == settings and store.version == 1


def test_a_journey_given_replaces_that_triggers_journey_whole_and_keeps_the_other():
    store = records()
    cart = example_journeys()["cart_recovery"]
    settings = change_settings(store, "s", {"journeys": {"cart_recovery": cart}}, NOW)
    last = settings.journeys["cart_recovery"].steps[-1]
    assert last.incentive == Incentive(description="10% off your order", code="COMEBACK10")
    assert settings.journeys["reactivation"] == default_winback_journey()
    # Whole: a journey given without a field takes that field's default, not the old value.
    change_settings(
        store, "s", {"journeys": {"reactivation": {"steps": [{"delay_minutes": 0}]}}}, NOW
    )
    assert store.shop.settings.journeys["reactivation"].reentry_cooldown_days == 7
    assert store.shop.settings.journeys["cart_recovery"].steps[-1].incentive is not None


def test_channel_order_is_patched_per_message_kind_too():
    store = records()
    settings = change_settings(store, "s", {"channel_order": {"cart_recovery": ["email"]}}, NOW)
    assert settings.channel_order["cart_recovery"] == ["email"]
    assert settings.channel_order["reactivation"] == ["email", "push", "sms"]


def test_the_example_file_applies_whole():
    store = records()
    settings = change_settings(store, "s", parse_changes(EXAMPLE.read_bytes()), NOW)
    assert settings.journeys["cart_recovery"].steps[-1].incentive.code == "COMEBACK10"
    winback = settings.journeys["reactivation"]
    assert winback.steps[1].delay_minutes == 21 * 24 * 60 and winback.reentry_cooldown_days == 60
    assert winback != default_winback_journey()


def test_null_means_none_and_is_kept():
    store = records()
    settings = change_settings(
        store, "s", {"quiet_hours_start": None, "quiet_hours_end": None}, NOW
    )
    assert settings.quiet_hours_start is None and settings.quiet_hours_end is None
    # Stored as NULL, not dropped: a dropped key would read back as 21:00.
    stored = from_item({"settings": settings_attribute(settings)})["settings"]
    assert ShopSettings.model_validate(stored).quiet_hours_start is None
    restored = change_settings(store, "s", {"quiet_hours_start": "22:30"}, NOW)
    assert restored.quiet_hours_start == time(22, 30)


def test_the_stored_map_reads_back_as_the_same_settings():
    settings = ShopSettings(
        journeys={"cart_recovery": example_journeys()["cart_recovery"]},
        price_drop_min_percent=Decimal("2.5"),
        reactivation_p_alive_below=0.3,
        default_phone_region="DE",
    )
    stored = from_item({"settings": settings_attribute(settings)})["settings"]
    assert ShopSettings.model_validate(stored) == settings


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"quiet_hour_start": "22:00"}, "'quiet_hour_start' (did you mean 'quiet_hours_start'?)"),
        ({"shop_id": "other-shop"}, "unknown setting 'shop_id'"),
        ({"journeys": {"cart_recovry": {"steps": []}}}, "did you mean 'cart_recovery'?"),
        ({"channel_order": {"newsletter": ["email"]}}, "channel_order: unknown kind 'newsletter'"),
    ],
)
def test_an_unknown_name_is_refused_naming_it_and_nothing_is_saved(changes, named):
    store = records()
    with pytest.raises(InvalidInput) as refused:
        change_settings(store, "s", {"cap_messages": 3, **changes}, NOW)
    assert named in refused.value.message and "nothing was changed" in refused.value.message
    assert store.saves == 0 and store.shop.settings == ShopSettings()


@pytest.mark.parametrize(
    ("journey", "reason"),
    [
        (
            {"steps": [{"delay_minutes": 60}, {"delay_minutes": 30}]},
            "journeys.cart_recovery: steps must come in order of delay_minutes",
        ),
        ({"steps": []}, "journeys.cart_recovery.steps: List should have at least 1 item"),
        (
            {"steps": [{"delay_minutes": 30, "channels": ["fax"]}]},
            "journeys.cart_recovery.steps.0.channels.0: Input should be",
        ),
        (
            {"steps": [{"delay_minutes": 30, "incentive": {"description": "x", "code": "a b"}}]},
            "journeys.cart_recovery.steps.0.incentive.code: String should match pattern",
        ),
        (
            {"steps": [{"delay_minutes": 30, "delay": 5}]},
            "journeys.cart_recovery.steps.0.delay: Extra inputs are not permitted",
        ),
        ({"steps": [{"delay_minutes": 30}], "holdout_percent": 80}, "holdout_percent"),
    ],
)
def test_an_invalid_journey_is_refused_with_its_field_and_reason_and_nothing_is_saved(
    journey, reason
):
    store = records()
    with pytest.raises(InvalidInput) as refused:
        change_settings(store, "s", {"journeys": {"cart_recovery": journey}}, NOW)
    assert reason in refused.value.message, refused.value.message
    assert store.saves == 0
    assert store.shop.settings.journeys["cart_recovery"] == default_cart_journey()


def test_a_valid_setting_beside_an_invalid_one_is_not_saved_either():
    store = records()
    with pytest.raises(InvalidInput, match="timezone"):
        change_settings(store, "s", {"cap_messages": 3, "timezone": "Mars/Olympus"}, NOW)
    assert store.saves == 0 and store.shop.settings.cap_messages == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"holdout_percent": NaN}', "NaN"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(body, reason):
    with pytest.raises(InvalidInput, match=reason):
        parse_changes(body)


def test_a_change_that_changes_nothing_writes_nothing():
    store = records(cap_messages=2)
    change = apply_change(store, "s", {"cap_messages": 2}, NOW)
    assert change.changed == () and store.saves == 0


def test_a_lost_race_reapplies_the_patch_to_the_newer_settings():
    store = records()
    store.races.append({"currency": "EUR"})  # someone else's change lands first
    change = apply_change(store, "s", {"cap_messages": 4}, NOW)
    assert change.changed == ("cap_messages",)
    assert store.shop.settings.cap_messages == 4
    assert store.shop.settings.currency == "EUR"  # theirs survives
    assert store.version == 2


def test_settings_that_keep_changing_give_up_without_saving():
    store = records()
    store.races.extend({"cap_messages": n} for n in (2, 3, 4))
    with pytest.raises(TemporarilyUnavailable):
        apply_change(store, "s", {"currency": "EUR"}, NOW)
    assert store.shop.settings.currency == "USD"


def test_an_unknown_shop_is_not_found():
    with pytest.raises(NotFound):
        read_settings(records(), "other")
    with pytest.raises(NotFound):
        change_settings(records(), "other", {"cap_messages": 2}, NOW)


def test_read_settings_are_json_values_with_the_default_journeys():
    settings = read_settings(records(), "s")
    json.dumps(settings)  # JSON-able as it is
    cart = settings["journeys"]["cart_recovery"]
    assert [step["delay_minutes"] for step in cart["steps"]] == [30, 240, 1440]
    assert (cart["holdout_percent"], cart["reentry_cooldown_days"]) == (10, 7)


def test_the_from_address_is_normalised_as_create_shop_stores_it():
    store = records()
    settings = change_settings(store, "s", {"from_address": " Hello@Shop.Example.COM "}, NOW)
    assert settings.from_address == "hello@shop.example.com"
    with pytest.raises(InvalidInput, match="from_address: email is not an address"):
        change_settings(store, "s", {"from_address": "nobody"}, NOW)
    assert store.shop.settings.from_address == "hello@shop.example.com"


def test_the_example_in_the_docs_is_the_example_file():
    docs = (EXAMPLE.parents[2] / "docs" / "settings.md").read_text()
    block = docs.split("### Example", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    assert json.loads(block) == json.loads(EXAMPLE.read_text())
