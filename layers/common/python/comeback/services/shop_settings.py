"""A shop reads and changes its own settings: `GET` / `PATCH /v1/settings` with its secret key,
or `comeback settings <shop> --apply FILE.json` with AWS credentials (docs/settings.md).

A change is a patch: the top-level settings it names are replaced and the others keep their
value. In the two maps keyed by message kind, `journeys` and `channel_order`, each kind given
replaces that kind's entry whole and the other kinds stay. The result is validated as a whole
before anything is saved, so a change is applied entirely or not at all. Unknown settings are
refused: stored settings ignore unknown keys (an older or newer version may have written
them), but a typo in a change must not vanish silently and leave the shop thinking it worked.

How soon a change applies: the functions cache a shop for `wiring.SHOP_CACHE_SECONDS` (60 s)
per warm instance and the sweeps read it afresh each run, so within about a minute. A timer
already set keeps its due time; what a step sends, and when the next step falls due, follow
the settings of the moment it is sent.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from comeback.adapters.shop_records import ShopRecords
from comeback.adapters.store import Store
from comeback.domain.contact import normalise_email
from comeback.domain.intake import (
    check_values,
    describe_validation_error,
    read_document,
    write_key_from_authorization,
)
from comeback.errors import (
    ConcurrentUpdate,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    TemporarilyUnavailable,
)
from comeback.models.shop import DEFAULT_CHANNEL_ORDER, ShopSettings, default_journeys
from comeback.services.intake import authenticate_backend

# A shop's settings are a few kilobytes; the shop item must stay far below DynamoDB's 400 KB.
MAX_BODY_BYTES = 64 * 1024
# A lost race re-reads and re-applies the same patch; more than a few means something is wrong.
MAX_ATTEMPTS = 3
# Settings that map a message kind to its entry: a change replaces the kinds it names only.
PER_KIND = {"journeys": set(default_journeys()), "channel_order": set(DEFAULT_CHANNEL_ORDER)}


@dataclass(frozen=True)
class SettingsChange:
    settings: ShopSettings
    changed: tuple[str, ...]  # the top-level settings whose value changed, sorted


@dataclass(frozen=True)
class SettingsAnswer:
    shop_id: str
    changed: tuple[str, ...]
    settings: dict[str, Any]


def read_settings(records: ShopRecords, shop_id: str) -> dict[str, Any]:
    """The shop's settings as JSON values (the shipped defaults filled in)."""
    record = records.read(shop_id)
    if record is None:
        raise NotFound(f"no shop {shop_id!r}")
    return record.shop.settings.model_dump(mode="json")


def change_settings(
    records: ShopRecords, shop_id: str, changes: Mapping[str, Any], now: datetime
) -> ShopSettings:
    """Apply a patch to the shop's settings and save them; the settings as saved (handlers that
    cached the shop pick them up within a minute)."""
    return apply_change(records, shop_id, changes, now).settings


def apply_change(
    records: ShopRecords, shop_id: str, changes: Mapping[str, Any], now: datetime
) -> SettingsChange:
    """`change_settings`, saying which settings changed. The write is conditional on the
    version read; a lost race reads the newer settings and applies the same patch to them, so
    a concurrent change of other settings survives and neither is silently overwritten."""
    check_change(changes)
    for _ in range(MAX_ATTEMPTS):
        record = records.read(shop_id)
        if record is None:
            raise NotFound(f"no shop {shop_id!r}")
        current = record.shop.settings
        settings = merged_settings(current, changes)
        changed = changed_settings(current, settings)
        if not changed:
            return SettingsChange(settings, ())  # nothing to write
        try:
            records.save_settings(shop_id, settings, read_version=record.version, now=now)
        except ConcurrentUpdate:
            continue
        return SettingsChange(settings, changed)
    raise TemporarilyUnavailable("the settings kept changing meanwhile; try again")


def check_change(changes: Any) -> None:
    """Refuse, before anything is read, a change that names what is not a setting (or not a
    kind of a per-kind setting) or holds values no store can keep."""
    if not isinstance(changes, Mapping):
        raise InvalidInput("settings changes must be a JSON object of settings")
    for key in changes:
        _known(key, set(ShopSettings.model_fields), "unknown setting")
    for key, kinds in PER_KIND.items():
        given = changes.get(key)
        if isinstance(given, Mapping):
            for kind in given:
                _known(kind, kinds, f"{key}: unknown kind")
    check_values(dict(changes))


def _known(name: Any, known: set[str], what: str) -> None:
    if name in known:
        return
    close = difflib.get_close_matches(str(name), sorted(known), n=1)
    listed = ", ".join(sorted(known)) if len(known) <= 8 else "docs/settings.md lists them"
    hint = f" (did you mean {close[0]!r}?)" if close else f" ({listed})"
    raise InvalidInput(f"{what} {str(name)[:60]!r}{hint}; nothing was changed")


def merged_settings(current: ShopSettings, changes: Mapping[str, Any]) -> ShopSettings:
    """The settings after the patch, validated as a whole; InvalidInput naming the field and
    the reason when they are not valid."""
    document = current.model_dump()
    for key, value in changes.items():
        if key in PER_KIND and isinstance(value, Mapping):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    if changes.get("from_address") is not None:
        # As `comeback create-shop` stores it: the address SES sends from, normalised.
        try:
            document["from_address"] = normalise_email(changes["from_address"])
        except InvalidInput as exc:
            raise InvalidInput(f"from_address: {exc.message}; nothing was changed") from exc
    try:
        return ShopSettings.model_validate(document)
    except ValidationError as exc:
        raise InvalidInput(f"{describe_validation_error(exc)}; nothing was changed") from exc


def changed_settings(before: ShopSettings, after: ShopSettings) -> tuple[str, ...]:
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return tuple(sorted(key for key in new if old.get(key) != new[key]))


def parse_changes(body: bytes) -> dict[str, Any]:
    """A change as JSON text (a request body, a config file): numbers read exactly, as the
    tracking API reads them; anything but a JSON object refused."""
    document, _ = read_document(body, None)
    return document


def serve(
    *,
    method: str,
    query: Mapping[str, str],
    body: bytes,
    authorization: str | None,
    store: Store,
    records: ShopRecords,
    now: datetime,
) -> SettingsAnswer:
    """The settings API. The shop is the one the secret key (HTTP Basic user name) belongs
    to, never one the request names: a `shop` in the query is refused rather than ignored, so
    a caller who meant another shop learns it cannot, and `shop_id` in a body is no setting."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is over the {MAX_BODY_BYTES // 1024} KB limit")
    key = write_key_from_authorization(authorization)
    shop_id = authenticate_backend(store, key, "settings")
    if query:
        raise InvalidInput(
            "the settings API takes no query parameters: it serves the shop whose secret key "
            "is used"
        )
    if method == "GET":
        return SettingsAnswer(shop_id, (), read_settings(records, shop_id))
    change = apply_change(records, shop_id, parse_changes(body), now)
    return SettingsAnswer(shop_id, change.changed, change.settings.model_dump(mode="json"))
