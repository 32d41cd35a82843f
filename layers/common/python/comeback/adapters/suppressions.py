"""Suppressed addresses: the email addresses a shop must not write to again.

One small item per shop and address in the main table (`keys.suppression_key`), holding the
reason and when it was first recorded, never the address: keys carry its digest only, so a
suppression can be checked and lifted by address but no address can be read back.

Addresses must come normalised (`comeback.domain.contact.normalise_email`), as profiles keep
them, or the same person would be recorded under two digests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from comeback import keys
from comeback.adapters.dynamo_types import to_item, to_value
from comeback.domain.feedback import SEVERITY

_CONDITION_FAILED = "ConditionalCheckFailedException"


class Suppressions:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def suppress(self, shop_id: str, address: str, reason: str, at: datetime) -> bool:
        """Record that `address` must not be emailed by this shop; True if that changed
        anything.

        Idempotent in one conditional write: a replayed notification, or a second bounce,
        changes nothing. A stronger reason (a complaint) replaces a weaker one (a hard
        bounce), never the reverse, and the first `at` is kept either way.
        """
        severity = SEVERITY.get(reason)
        if severity is None:
            raise ValueError(f"unknown suppression reason {reason!r}")
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item(keys.suppression_key(shop_id, address)),
                UpdateExpression="SET #kind = :kind, #shop = :shop, #reason = :reason, "
                "#severity = :severity, #reason_at = :at, #at = if_not_exists(#at, :at)",
                ConditionExpression="attribute_not_exists(pk) OR #severity < :severity",
                ExpressionAttributeNames={
                    "#kind": "kind",
                    "#shop": "shop_id",
                    "#reason": "reason",
                    "#severity": "severity",
                    "#reason_at": "reason_at",
                    "#at": "suppressed_at",
                },
                ExpressionAttributeValues={
                    ":kind": to_value("suppression"),
                    ":shop": to_value(shop_id),
                    ":reason": to_value(reason),
                    ":severity": to_value(severity),
                    ":at": to_value(at),
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == _CONDITION_FAILED:
                return False  # already suppressed, for this reason or a stronger one
            raise
        return True

    def is_suppressed(self, shop_id: str, address: str) -> str | None:
        """Why this shop must not email `address` (`hard_bounce`, `complaint`), or None.

        A strongly consistent read: a bounce recorded a moment ago already stops the next
        send.
        """
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item(keys.suppression_key(shop_id, address)),
            ConsistentRead=True,
            ProjectionExpression="#reason",
            ExpressionAttributeNames={"#reason": "reason"},
        )
        item = response.get("Item")
        return item["reason"]["S"] if item else None

    def lift(self, shop_id: str, address: str) -> bool:
        """Let the shop email `address` again (the person fixed their mailbox, or asked to
        hear from the shop again); True if it was suppressed."""
        response = self._client.delete_item(
            TableName=self._table,
            Key=to_item(keys.suppression_key(shop_id, address)),
            ReturnValues="ALL_OLD",
        )
        return bool(response.get("Attributes"))
