"""The shop's product catalogue in the main table: one item per product, written as the
platform reports it (`keys.product_pk`), never replaced by an older report."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from botocore.exceptions import ClientError

from comeback import keys
from comeback.adapters.dynamo_types import from_item, to_item, to_value
from comeback.clock import iso
from comeback.models.catalogue import Product

_CONDITION_FAILED = "ConditionalCheckFailedException"
_FIELDS = ("title", "url", "image_url", "price", "currency", "in_stock", "inventory", "source")


def content_digest(product: Product) -> str:
    text = json.dumps(product.content(), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class Catalogue:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def save_product(self, shop_id: str, product: Product) -> bool:
        """Store this state of the product; True if that changed what we knew of it.

        One conditional write: a report older than (or as old as) the stored one changes
        nothing, so late and repeated deliveries are harmless; a newer report with the same
        content moves `updated_at` on and reports no change.
        """
        values = product.model_dump()
        names = {f"#{name}": name for name in (*_FIELDS, "updated_at", "digest", "kind", "shop_id")}
        names["#product_id"] = "product_id"
        assignments = [f"#{name} = :{name}" for name in _FIELDS if values[name] is not None]
        removals = [f"#{name}" for name in _FIELDS if values[name] is None]
        attribute_values = {
            f":{name}": to_value(values[name]) for name in _FIELDS if values[name] is not None
        }
        attribute_values.update(
            {
                ":updated_at": to_value(iso(product.updated_at)),
                ":digest": to_value(content_digest(product)),
                ":kind": to_value("product"),
                ":shop_id": to_value(shop_id),
                ":product_id": to_value(product.product_id),
            }
        )
        expression = "SET " + ", ".join(
            [
                *assignments,
                "#updated_at = :updated_at",
                "#digest = :digest",
                "#kind = :kind",
                "#shop_id = :shop_id",
                "#product_id = :product_id",
            ]
        )
        if removals:
            expression += " REMOVE " + ", ".join(removals)
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=to_item(
                    {"pk": keys.product_pk(shop_id, product.product_id), "sk": keys.PRODUCT_SK}
                ),
                UpdateExpression=expression,
                ConditionExpression="attribute_not_exists(pk) OR #updated_at < :updated_at",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attribute_values,
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == _CONDITION_FAILED:
                return False  # we already have this state or a newer one
            raise
        old = answer.get("Attributes") or {}
        return old.get("digest", {}).get("S") != content_digest(product)

    def get_product(self, shop_id: str, product_id: str) -> Product | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": keys.product_pk(shop_id, product_id), "sk": keys.PRODUCT_SK}),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return Product.model_validate(from_item(item)) if item else None
