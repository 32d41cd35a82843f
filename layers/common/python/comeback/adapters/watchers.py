"""Who watches which product, for back-in-stock and price-drop alerts: one small item per shop,
product and person in the product's own partition (`keys.product_watch_pk`), expiring by TTL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from comeback import keys
from comeback.adapters.dynamo_types import from_item, to_item, to_value
from comeback.adapters.store import Store
from comeback.clock import iso
from comeback.domain.alerts import Watch

_CONDITION_FAILED = "ConditionalCheckFailedException"
PAGE_SIZE = 500


@dataclass(frozen=True)
class Watcher:
    profile_id: str
    reason: str
    at: datetime
    expires_at: datetime


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class Watchers:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @classmethod
    def of(cls, store: Store) -> Watchers:
        """The watches in the store's main table."""
        return cls(store._client, store._table)

    def watch(self, shop_id: str, product_id: str, profile_id: str, watch: Watch) -> bool:
        """Note that the person watches the product; True if that lengthened the watch.

        One conditional write, keyed by product and person: the watch that lasts longest is
        kept (a repeat, or a late copy of an older event, changes nothing)."""
        expires = _epoch(watch.expires_at)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item(
                    {
                        "pk": keys.product_watch_pk(shop_id, product_id),
                        "sk": keys.watch_sk(profile_id),
                    }
                ),
                UpdateExpression="SET #kind = :kind, shop_id = :shop, profile_id = :profile, "
                "reason = :reason, #at = :at, expires_at = :expires",
                ConditionExpression="attribute_not_exists(expires_at) OR expires_at < :expires",
                ExpressionAttributeNames={"#kind": "kind", "#at": "at"},
                ExpressionAttributeValues={
                    ":kind": to_value("watch"),
                    ":shop": to_value(shop_id),
                    ":profile": to_value(profile_id),
                    ":reason": to_value(watch.reason),
                    ":at": to_value(iso(watch.at)),
                    ":expires": to_value(expires),
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == _CONDITION_FAILED:
                return False
            raise
        return True

    def watchers_of(self, shop_id: str, product_id: str, now: datetime) -> Iterator[Watcher]:
        """The people watching the product now: one Query of its partition (TTL deletes
        expired watches late, so they are filtered out here)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "FilterExpression": "expires_at > :now",
            "ExpressionAttributeValues": {
                ":pk": to_value(keys.product_watch_pk(shop_id, product_id)),
                ":prefix": to_value(keys.WATCH_SK_PREFIX),
                ":now": to_value(_epoch(now)),
            },
            "Limit": PAGE_SIZE,
        }
        while True:
            page = self._client.query(**request)
            for raw in page["Items"]:
                item = from_item(raw)
                yield Watcher(
                    profile_id=str(item["profile_id"]),
                    reason=str(item["reason"]),
                    at=datetime.fromisoformat(str(item["at"])),
                    expires_at=datetime.fromtimestamp(int(item["expires_at"]), now.tzinfo),
                )
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
