"""Reading what the value fit needs from profiles, and writing back what it found: the shop's
fitted model (one item) and each customer's scores (one attribute of their profile)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from comeback import keys
from comeback.adapters.dynamo_types import from_item, to_item, to_value
from comeback.clock import parse_iso
from comeback.domain.value.scoring import OrderCounters, ShopValueModel
from comeback.models.profile import OrderStats, ProfileValue

VALUE_MODEL_SK = "VALUE_MODEL"


@dataclass(frozen=True)
class Buyer:
    profile_id: str
    version: int
    orders: OrderCounters
    last_activity_at: datetime


# What the fit reads of a profile: its order counters and its version (for the write back).
_PROJECTION = "profile_id, version, orders, last_activity_at"


class Valuations:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def buyers(self, shop_id: str) -> Iterator[Buyer]:
        """Every profile of the shop with an order: its id, version, order counters and last
        activity.

        A Scan of the table, filtered to the shop's profiles: a weekly job reads each item
        once (DynamoDB charges for what a scan reads, filtered or not; see docs)."""
        prefix = keys.profile_pk(shop_id, "")
        request: dict[str, Any] = dict(
            TableName=self._table,
            FilterExpression="begins_with(pk, :prefix) AND sk = :sk AND orders.#count > :zero",
            ProjectionExpression=_PROJECTION,
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={
                ":prefix": to_value(prefix),
                ":sk": to_value(keys.PROFILE_SK),
                ":zero": to_value(0),
            },
        )
        while True:
            page = self._client.scan(**request)
            for item in page["Items"]:
                values = from_item(item)
                stats = OrderStats.model_validate(values["orders"])
                if not stats.count or stats.first_at is None or stats.last_at is None:
                    continue
                yield Buyer(
                    values["profile_id"],
                    int(values["version"]),
                    OrderCounters(
                        count=stats.count,
                        revenue=stats.revenue,
                        first_at=stats.first_at,
                        last_at=stats.last_at,
                        occasions=stats.occasions,
                        first_day_revenue=stats.first_day_revenue,
                    ),
                    parse_iso(values["last_activity_at"])
                    if values.get("last_activity_at")
                    else stats.last_at,
                )
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def save_model(self, shop_id: str, model: ShopValueModel) -> None:
        item: dict[str, Any] = {
            "pk": keys.shop_pk(shop_id),
            "sk": VALUE_MODEL_SK,
            "kind": "value_model",
            **asdict(model),
        }
        self._client.put_item(TableName=self._table, Item=to_item(item))

    def get_model(self, shop_id: str) -> dict[str, Any] | None:
        answer = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": keys.shop_pk(shop_id), "sk": VALUE_MODEL_SK}),
        )
        return from_item(answer["Item"]) if "Item" in answer else None

    def set_value(self, shop_id: str, profile_id: str, version: int, value: ProfileValue) -> bool:
        """Store a customer's scores if the profile is still at `version`, and move it on, so
        the processor's next write (optimistic lock on the version) re-reads instead of
        overwriting them. False when the profile changed meanwhile."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item({"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.PROFILE_SK}),
                UpdateExpression="SET #value = :value, version = :next",
                ConditionExpression="version = :version",
                ExpressionAttributeNames={"#value": "value"},
                ExpressionAttributeValues={
                    ":value": to_value(value.model_dump()),
                    ":version": to_value(version),
                    ":next": to_value(version + 1),
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
