"""Everything the tables hold about one person, found and deleted: their profile partition
(profile, send records, push attempts), their timers, identity links, push subscriptions and
raw events.

Raw events are keyed by message id, not by person, so finding a person's events is a Scan of
the shop's event items filtered by profile id. A privacy request is rare; a second index
written on every event would cost more than a scan per request. On a very large table the
scan can outlast an API call: see docs/privacy.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from comeback import keys
from comeback.adapters.dynamo_types import from_item, to_item, to_value

BATCH_WRITE_LIMIT = 25


class PersonalData:
    def __init__(self, client: Any, table_name: str, timers_table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._timers = timers_table_name

    def profile_partition(self, shop_id: str, profile_id: str) -> list[dict[str, Any]]:
        """The profile item and everything kept beside it (send records, push attempts)."""
        return list(self._query(self._table, keys.profile_pk(shop_id, profile_id)))

    def timers(self, shop_id: str, profile_id: str) -> list[dict[str, Any]]:
        return list(self._query(self._timers, keys.profile_pk(shop_id, profile_id)))

    def links(self, shop_id: str, identifiers: Iterable[str]) -> list[dict[str, Any]]:
        found = []
        for identifier in identifiers:
            answer = self._client.get_item(
                TableName=self._table,
                Key=to_item({"pk": keys.identity_pk(shop_id, identifier), "sk": keys.IDENTITY_SK}),
                ConsistentRead=True,
            )
            if "Item" in answer:
                found.append(from_item(answer["Item"]))
        return found

    def push_subscriptions(
        self, shop_id: str, profile_ids: set[str], endpoint_digests: Iterable[str]
    ) -> list[dict[str, Any]]:
        found = []
        for digest in dict.fromkeys(endpoint_digests):
            answer = self._client.get_item(
                TableName=self._table,
                Key=to_item(
                    {
                        "pk": keys.push_subscription_pk_for_digest(shop_id, digest),
                        "sk": keys.PUSH_SUBSCRIPTION_SK,
                    }
                ),
                ConsistentRead=True,
            )
            item = from_item(answer["Item"]) if "Item" in answer else None
            if item and item.get("profile_id") in profile_ids:
                found.append(item)
        return found

    def events(self, shop_id: str, profile_ids: set[str]) -> list[dict[str, Any]]:
        """The raw events applied to these profiles (a filtered Scan; see the module doc)."""
        return [i for i in self.items_of(shop_id, profile_ids) if i.get("kind") == "event"]

    def items_of(self, shop_id: str, profile_ids: set[str]) -> list[dict[str, Any]]:
        """Every item of the shop that names one of these profiles (`profile_id`), wherever
        it is keyed: raw events, identity links, push subscriptions, product watches, send
        records... One filtered Scan; an item type added later is found without a change."""
        if not profile_ids:
            return []
        names = {f":p{n}": to_value(pid) for n, pid in enumerate(sorted(profile_ids))}
        request: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": f"begins_with(pk, :prefix) AND profile_id IN ({', '.join(names)})",
            "ExpressionAttributeValues": {
                ":prefix": to_value(keys.shop_pk(shop_id) + "#"),
                **names,
            },
        }
        found = []
        while True:
            page = self._client.scan(**request)
            found += [from_item(item) for item in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete(self, items: Iterable[dict[str, Any]], *, timers: bool = False) -> int:
        """Delete items (by their pk and sk) from the main table, or the timers table."""
        table = self._timers if timers else self._table
        requests = [
            {"DeleteRequest": {"Key": to_item({"pk": item["pk"], "sk": item["sk"]})}}
            for item in items
        ]
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending = {table: requests[start : start + BATCH_WRITE_LIMIT]}
            while pending:
                answer = self._client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
        return len(requests)

    def _query(self, table: str, pk: str) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": to_value(pk)},
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**request)
            yield from (from_item(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
