"""The shop's product catalogue in the main table: one item per product, written as the
platform reports it (`keys.product_pk`), never replaced by an older report."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from comeback import keys
from comeback.adapters.dynamo_types import from_item, to_item, to_value
from comeback.adapters.store import Store
from comeback.clock import iso
from comeback.errors import ConcurrentUpdate
from comeback.models.catalogue import Product

_CONDITION_FAILED = "ConditionalCheckFailedException"
MAX_ATTEMPTS = 5
_FIELDS = ("title", "url", "image_url", "price", "currency", "in_stock", "inventory", "source")


def content_digest(product: Product) -> str:
    text = json.dumps(product.content(), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# The alert a change raises, given the state it replaced (None for a new product).
Judge = Callable[[Product | None, Product], str | None]


@dataclass(frozen=True)
class ProductSave:
    changed: bool  # the content differs from what was stored (or nothing was)
    previous: Product | None  # the state this one replaced, when it was saved
    alert: str | None  # the alert this state raised (again, for a repeat of the same report)


class Catalogue:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @classmethod
    def of(cls, store: Store) -> Catalogue:
        """The catalogue in the store's main table."""
        return cls(store._client, store._table)

    def save_product(self, shop_id: str, product: Product) -> bool:
        """Store this state of the product; True if that changed what we knew of it.

        A report older than (or as old as) the stored one changes nothing, so late and
        repeated deliveries are harmless; a newer report with the same content moves
        `updated_at` on and reports no change.
        """
        return self.record(shop_id, product).changed

    def record(
        self, shop_id: str, product: Product, judge: Judge = lambda previous, new: None
    ) -> ProductSave:
        """Store this state of the product, as `save_product` does, and say what it replaced
        and which alert (`judge(previous, new)`) the change raised.

        The alert is kept on the item with the state that raised it: a repeat of that same
        report (a platform's redelivery after we failed to answer) gets it again, so alerts
        lost to a crash after the save are sent by the retry (the sender sends each once).
        Read, then write on condition that nothing changed in between; a lost race reads again.
        """
        digest = content_digest(product)
        for _ in range(MAX_ATTEMPTS):
            item = self._item(shop_id, product.product_id)
            stored = Product.model_validate(item) if item else None
            if stored is not None and stored.updated_at >= product.updated_at:
                repeat = stored.updated_at == product.updated_at and item.get("digest") == digest
                alert = item.get("alert") if repeat else None
                return ProductSave(changed=False, previous=None, alert=alert)
            changed = item is None or item.get("digest") != digest
            alert = judge(stored, product) if changed else None
            seen = item.get("updated_at") if item else None
            if self._write(shop_id, product, digest, alert, seen):
                return ProductSave(changed=changed, previous=stored, alert=alert)
        raise ConcurrentUpdate(f"product kept changing while saving it ({MAX_ATTEMPTS} tries)")

    def _write(
        self, shop_id: str, product: Product, digest: str, alert: str | None, seen: Any
    ) -> bool:
        """One conditional write of the state: False if the stored one is no longer `seen`."""
        values = product.model_dump()
        names = {f"#{name}": name for name in (*_FIELDS, "updated_at", "digest", "kind", "shop_id")}
        names["#product_id"] = "product_id"
        names["#alert"] = "alert"
        assignments = [f"#{name} = :{name}" for name in _FIELDS if values[name] is not None]
        removals = [f"#{name}" for name in _FIELDS if values[name] is None]
        attribute_values = {
            f":{name}": to_value(values[name]) for name in _FIELDS if values[name] is not None
        }
        attribute_values.update(
            {
                ":updated_at": to_value(iso(product.updated_at)),
                ":digest": to_value(digest),
                ":kind": to_value("product"),
                ":shop_id": to_value(shop_id),
                ":product_id": to_value(product.product_id),
            }
        )
        if alert is not None:
            assignments.append("#alert = :alert")
            attribute_values[":alert"] = to_value(alert)
        else:
            removals.append("#alert")
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
        if seen is None:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "#updated_at = :seen"
            attribute_values[":seen"] = to_value(seen)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item(
                    {"pk": keys.product_pk(shop_id, product.product_id), "sk": keys.PRODUCT_SK}
                ),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attribute_values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == _CONDITION_FAILED:
                return False  # written by another delivery meanwhile
            raise
        return True

    def _item(self, shop_id: str, product_id: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": keys.product_pk(shop_id, product_id), "sk": keys.PRODUCT_SK}),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def get_product(self, shop_id: str, product_id: str) -> Product | None:
        item = self._item(shop_id, product_id)
        return Product.model_validate(item) if item else None
