"""A shop's settings on its shop item (`keys.shop_pk` / `SHOP`), read and changed under an
optimistic lock.

`Store.create_shop` writes the item and `Store.get_shop` reads it (eventually consistent, for
the handlers' short-lived cache). Changing settings is read, merge, write: two changes made at
once (the API and the CLI, two deploys) must not silently undo each other, so the item keeps
a `settings_version` and a write only succeeds on the version it read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from comeback import keys
from comeback.adapters.dynamo_types import from_item, plain, to_item, to_value
from comeback.clock import iso
from comeback.errors import ConcurrentUpdate
from comeback.models.shop import Shop, ShopSettings

_CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class ShopRecord:
    shop: Shop
    version: int  # 0 until the settings are first changed after the shop's creation


def settings_attribute(settings: ShopSettings) -> dict[str, Any]:
    """The settings as one DynamoDB map. Unlike `to_item`, a setting that is None is kept
    (as NULL): None means something (no quiet hours, the shop's channel order for a step),
    and a dropped key would read back as its default."""
    return _attribute(settings.model_dump())


def _attribute(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, dict):
        return {"M": {str(k): _attribute(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [_attribute(v) for v in value]}
    return to_value(plain(value))


class ShopRecords:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def read(self, shop_id: str) -> ShopRecord | None:
        """The shop as stored now (a consistent read: a change starts from the latest)."""
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": keys.shop_pk(shop_id), "sk": keys.SHOP_SK}),
            ConsistentRead=True,
        )
        if "Item" not in response:
            return None
        item = from_item(response["Item"])
        return ShopRecord(Shop.model_validate(item), int(item.get("settings_version", 0)))

    def save_settings(
        self, shop_id: str, settings: ShopSettings, *, read_version: int, now: datetime
    ) -> int:
        """Replace the settings if they are still at `read_version`; the new version. Else
        ConcurrentUpdate (someone changed them since, or the shop is gone): read again."""
        unchanged = (
            "attribute_not_exists(settings_version)"
            if read_version == 0
            else "settings_version = :read"
        )
        values = {
            ":settings": settings_attribute(settings),
            ":next": to_value(read_version + 1),
            ":now": to_value(iso(now)),
        }
        if read_version:
            values[":read"] = to_value(read_version)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item({"pk": keys.shop_pk(shop_id), "sk": keys.SHOP_SK}),
                UpdateExpression=(
                    "SET #settings = :settings, settings_version = :next, "
                    "settings_changed_at = :now"
                ),
                ConditionExpression=f"attribute_exists(pk) AND {unchanged}",
                ExpressionAttributeNames={"#settings": "settings"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == _CONDITION_FAILED:
                raise ConcurrentUpdate(f"settings of {shop_id} changed meanwhile") from exc
            raise
        return read_version + 1
