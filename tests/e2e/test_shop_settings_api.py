"""A shop changes its settings, journeys above all: `GET` / `PATCH /v1/settings` over HTTP with
its secret key, and `comeback settings --apply FILE.json` against the stack's table."""

import base64
import json
import urllib.request
from pathlib import Path

import pytest
from comeback import wiring
from comeback.adapters.shop_records import ShopRecords
from comeback.cli import main
from comeback.errors import ConcurrentUpdate
from comeback.models.journey import default_cart_journey, default_winback_journey
from comeback.models.shop import ShopSettings

from tests.conftest import START, _send, make_shop

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "settings" / "journeys.json"


def call(shop, method, path="/v1/settings", body=None, *, key=None, raw=None):
    """The settings API as the shop's backend calls it: its secret key unless told."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    auth = base64.b64encode(f"{key if key is not None else shop.keys.secret_key}:".encode())
    headers = {"Authorization": "Basic " + auth.decode()}
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(shop.api_url + path, data=data, method=method, headers=headers)
    status, text = _send(request)
    return status, json.loads(text)


def stored(stack, shop):
    """The settings the functions read (Store.get_shop, as wiring.shop does)."""
    return stack.store().get_shop(shop.shop_id).settings


def default_shop(stack, **settings):
    """A shop that set no journeys: it runs the shipped ones."""
    return make_shop(stack, START, journeys={}, **settings)


def test_get_answers_the_shops_settings_with_the_default_journeys(stack):
    shop = default_shop(stack)
    status, answer = call(shop, "GET")
    assert status == 200, answer
    settings = answer["settings"]
    assert settings["from_address"] == "hello@shop.example.com"
    cart, winback = settings["journeys"]["cart_recovery"], settings["journeys"]["reactivation"]
    assert [s["delay_minutes"] for s in cart["steps"]] == [30, 4 * 60, 24 * 60]
    assert [s["channels"] for s in cart["steps"]] == [
        ["push"],
        ["email", "sms"],
        ["email", "push", "sms"],
    ]
    assert (cart["holdout_percent"], cart["reentry_cooldown_days"]) == (10, 7)
    assert [s["delay_minutes"] for s in winback["steps"]] == [0, 14 * 24 * 60]
    assert ShopSettings.model_validate(settings) == stored(stack, shop)


def test_patch_with_the_example_cart_journey_changes_only_the_cart_journey(stack):
    shop = default_shop(stack, currency="EUR")
    _, before = call(shop, "GET")
    cart = json.loads(EXAMPLE.read_text())["journeys"]["cart_recovery"]

    status, answer = call(shop, "PATCH", body={"journeys": {"cart_recovery": cart}})

    assert status == 200, answer
    assert answer["changed"] == ["journeys"]
    settings = stored(stack, shop)
    last = settings.journeys["cart_recovery"].steps[-1]
    assert (last.incentive.description, last.incentive.code) == ("10% off your order", "COMEBACK10")
    assert settings.journeys["reactivation"] == default_winback_journey()
    # Everything else is as it was, and the answer is what is stored.
    expected = json.loads(json.dumps(before["settings"]))
    expected["journeys"]["cart_recovery"] = answer["settings"]["journeys"]["cart_recovery"]
    assert answer["settings"] == expected
    assert call(shop, "GET")[1]["settings"] == expected
    assert settings.currency == "EUR"


def test_the_write_key_gets_401_and_changes_nothing(stack, shop):
    before = stored(stack, shop)
    for method, body in (("GET", None), ("PATCH", {"cap_messages": 5})):
        status, answer = call(shop, method, body=body, key=shop.keys.write_key)
        assert status == 401, answer
        assert "secret key" in answer["message"]
    status, _ = call(shop, "PATCH", body={"cap_messages": 5}, key="sk_made_up")
    assert status == 401
    assert stored(stack, shop) == before


def test_a_shop_reads_and_changes_only_its_own_settings(stack):
    mine = default_shop(stack, currency="USD")
    theirs = default_shop(stack, currency="EUR")
    status, answer = call(mine, "GET")
    assert status == 200 and answer["settings"]["currency"] == "USD"

    # Naming the other shop is refused, in the query or the body; nothing changes anywhere.
    status, answer = call(mine, "GET", f"/v1/settings?shop={theirs.shop_id}")
    assert status == 400 and "query" in answer["message"]
    status, answer = call(
        mine, "PATCH", f"/v1/settings?shop_id={theirs.shop_id}", {"currency": "GBP"}
    )
    assert status == 400
    status, answer = call(mine, "PATCH", body={"shop_id": theirs.shop_id, "currency": "GBP"})
    assert status == 400 and "unknown setting 'shop_id'" in answer["message"]
    assert (stored(stack, mine).currency, stored(stack, theirs).currency) == ("USD", "EUR")

    # A change with the key reaches the key's shop only.
    status, _ = call(mine, "PATCH", body={"currency": "GBP"})
    assert status == 200
    assert (stored(stack, mine).currency, stored(stack, theirs).currency) == ("GBP", "EUR")
    assert call(theirs, "GET")[1]["settings"]["currency"] == "EUR"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {
                "journeys": {
                    "cart_recovery": {"steps": [{"delay_minutes": 60}, {"delay_minutes": 5}]}
                }
            },
            "journeys.cart_recovery: steps must come in order of delay_minutes",
        ),
        (
            {"cap_messages": 2, "journeys": {"reactivation": {"steps": [{"channels": ["fax"]}]}}},
            "journeys.reactivation.steps.0.delay_minutes: Field required",
        ),
        ({"quiet_hour_start": "22:00"}, "did you mean 'quiet_hours_start'?"),
        ({"journeys": {"birthday": {"steps": []}}}, "journeys: unknown kind"),
        ({"cap_messages": 0}, "cap_messages: Input should be greater than or equal to 1"),
        (b"{not json", "not valid JSON"),
        (b'["cap_messages"]', "JSON object"),
        (b'{"signup_url": "' + b"x" * 70_000 + b'"}', "over the 64 KB limit"),
    ],
)
def test_an_invalid_change_gets_400_with_the_reason_and_changes_nothing(stack, body, reason):
    shop = default_shop(stack)
    before = stored(stack, shop)
    raw = body if isinstance(body, bytes) else None
    status, answer = call(shop, "PATCH", body=None if raw else body, raw=raw)
    assert status == 400, answer
    assert answer["success"] is False and answer["error"] == "invalid_request"
    assert reason in answer["message"], answer["message"]
    assert stored(stack, shop) == before
    assert before.journeys["cart_recovery"] == default_cart_journey()


def test_no_quiet_hours_is_stored_as_such(stack):
    shop = default_shop(stack)
    status, answer = call(shop, "PATCH", body={"quiet_hours_start": None, "quiet_hours_end": None})
    assert status == 200 and answer["changed"] == ["quiet_hours_end", "quiet_hours_start"]
    settings = stored(stack, shop)
    assert (settings.quiet_hours_start, settings.quiet_hours_end) == (None, None)


def test_two_changes_from_the_same_read_cannot_both_be_saved(stack):
    shop = default_shop(stack)
    one = ShopRecords(wiring.client("dynamodb"), stack.aws.table_name)
    other = ShopRecords(wiring.client("dynamodb"), stack.aws.table_name)
    read = one.read(shop.shop_id)
    assert other.read(shop.shop_id).version == read.version == 0
    now = stack.clock.now()
    first = read.shop.settings.model_copy(update={"cap_messages": 2})
    assert one.save_settings(shop.shop_id, first, read_version=0, now=now) == 1
    second = read.shop.settings.model_copy(update={"currency": "EUR"})
    with pytest.raises(ConcurrentUpdate):
        other.save_settings(shop.shop_id, second, read_version=0, now=now)
    assert (stored(stack, shop).cap_messages, stored(stack, shop).currency) == (2, "USD")
    # Through the API a change re-reads first, so both changes end up saved.
    status, _ = call(shop, "PATCH", body={"currency": "EUR"})
    assert status == 200
    assert (stored(stack, shop).cap_messages, stored(stack, shop).currency) == (2, "EUR")
    assert one.read(shop.shop_id).version == 2


def test_the_cli_applies_the_example_file_and_prints_the_settings(stack, capsys):
    shop = default_shop(stack)
    table = stack.aws.table_name
    code = main(["settings", shop.shop_id, "--table", table, "--apply", str(EXAMPLE)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    printed = json.loads(captured.out)
    assert "changed journeys" in captured.err
    settings = stored(stack, shop)
    assert ShopSettings.model_validate(printed) == settings
    assert settings.journeys["cart_recovery"].steps[-1].incentive.code == "COMEBACK10"
    assert settings.journeys["reactivation"].steps[1].delay_minutes == 21 * 24 * 60
    for secret in (shop.keys.secret_key, shop.keys.write_key):
        assert secret not in captured.out

    # Applying it again changes nothing; --show prints the same.
    assert main(["settings", shop.shop_id, "--table", table, "--apply", str(EXAMPLE)]) == 0
    assert "changed nothing" in capsys.readouterr().err
    assert main(["settings", shop.shop_id, "--table", table, "--show"]) == 0
    assert json.loads(capsys.readouterr().out) == printed


def test_the_cli_refuses_a_bad_file_with_status_2_and_changes_nothing(stack, tmp_path, capsys):
    shop = default_shop(stack)
    before = stored(stack, shop)
    table = stack.aws.table_name
    files = {
        "typo.json": ('{"journey": {}}', "unknown setting 'journey' (did you mean 'journeys'?)"),
        "broken.json": ('{"journeys": ', "not valid JSON"),
        "late.json": (
            '{"journeys": {"cart_recovery": {"steps": [{"delay_minutes": -5}]}}}',
            "journeys.cart_recovery.steps.0.delay_minutes",
        ),
    }
    for name, (text, reason) in files.items():
        path = tmp_path / name
        path.write_text(text)
        assert main(["settings", shop.shop_id, "--table", table, "--apply", str(path)]) == 2
        captured = capsys.readouterr()
        assert reason in captured.err and captured.out == ""
    assert main(["settings", shop.shop_id, "--table", table, "--apply", "missing.json"]) == 2
    assert "cannot read missing.json" in capsys.readouterr().err
    assert stored(stack, shop) == before
