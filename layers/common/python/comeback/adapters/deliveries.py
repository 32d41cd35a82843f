"""DynamoDB state of delivery beyond one email: browser push subscriptions, per-subscription
push attempts, resumable send reservations and the frequency cap's slots.

Same table and key rules as `adapters.store` (every key starts with the shop). Each write that
decides something is conditional, so retries and concurrent senders never send twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from comeback import keys
from comeback.adapters.dynamo_types import from_item, to_item, to_value
from comeback.adapters.store import Store
from comeback.clock import parse_iso
from comeback.domain.push import PushSubscription
from comeback.models.profile import Profile

RETRYING = "retrying"
SENDING = "sending"


@dataclass(frozen=True)
class StoredSubscription:
    subscription: PushSubscription
    digest: str
    registered_at: datetime


@dataclass(frozen=True)
class Reservation:
    resumed: bool  # an earlier attempt stopped to retry later (push answered 429/5xx)
    channel: str | None  # the channel that earlier attempt was using
    cap_taken: bool  # that attempt already took its frequency-cap slot


class Deliveries:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._client = store._client
        self._table = store._table

    # -- push subscriptions ----------------------------------------------------------------

    def save_subscription(
        self, shop_id: str, profile_id: str, sub: PushSubscription, registered_at: datetime
    ) -> bool:
        """Store (or move to this profile) a browser's subscription; a late copy of an older
        registration never overwrites a newer one."""
        return self._store._conditional(
            self._client.put_item,
            TableName=self._table,
            Item=to_item(
                {
                    "pk": keys.push_subscription_pk(shop_id, sub.endpoint),
                    "sk": keys.PUSH_SUBSCRIPTION_SK,
                    "kind": "push_subscription",
                    "shop_id": shop_id,
                    "profile_id": profile_id,
                    "endpoint": sub.endpoint,
                    "p256dh": sub.p256dh,
                    "auth": sub.auth,
                    "registered_at": registered_at,
                }
            ),
            # Ordered by event time: a late copy of an older add never overwrites a newer add,
            # nor revives a subscription removed after it (the removal leaves a tombstone).
            ConditionExpression="attribute_not_exists(pk) OR (registered_at <= :at AND "
            "(attribute_not_exists(removed_at) OR removed_at < :at))",
            ExpressionAttributeValues={":at": to_value(registered_at)},
        )

    def move_subscriptions(
        self, shop_id: str, from_profile: str, to_profile: str, endpoint_digests: list[str]
    ) -> None:
        """Browsers of a merged profile now belong to the profile it merged into (those that
        moved to someone else meanwhile, on a shared browser, stay there)."""
        for digest in endpoint_digests:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=to_item(
                        {
                            "pk": keys.push_subscription_pk_for_digest(shop_id, digest),
                            "sk": keys.PUSH_SUBSCRIPTION_SK,
                        }
                    ),
                    UpdateExpression="SET profile_id = :to",
                    ConditionExpression="profile_id = :from",
                    ExpressionAttributeValues={
                        ":to": to_value(to_profile),
                        ":from": to_value(from_profile),
                    },
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise

    def remove_subscription(
        self, shop_id: str, profile_id: str, endpoint: str, at: datetime
    ) -> bool:
        """The person removed it: only theirs, and only if not registered again since. The
        item stays as a tombstone (`removed_at`) so that an older add arriving late is
        refused."""
        return self._store._conditional(
            self._client.update_item,
            TableName=self._table,
            Key=self._sub_key(keys.push_subscription_pk(shop_id, endpoint)),
            UpdateExpression="SET removed_at = :at",
            ConditionExpression="profile_id = :profile AND registered_at <= :at AND "
            "(attribute_not_exists(removed_at) OR removed_at < :at)",
            ExpressionAttributeValues={":profile": to_value(profile_id), ":at": to_value(at)},
        )

    def forget_gone(self, shop_id: str, stored: StoredSubscription) -> bool:
        """The push service said 404/410: end exactly the subscription we sent to. One renewed
        meanwhile (new keys, new registration) survives."""
        return self._store._conditional(
            self._client.update_item,
            TableName=self._table,
            Key=self._sub_key(keys.push_subscription_pk_for_digest(shop_id, stored.digest)),
            # A tombstone as of its registration: only a newer registration revives it.
            UpdateExpression="SET removed_at = :at, gone = :gone",
            ConditionExpression="registered_at = :at AND p256dh = :key",
            ExpressionAttributeValues={
                ":at": to_value(stored.registered_at),
                ":key": to_value(stored.subscription.p256dh),
                ":gone": to_value(True),
            },
        )

    def subscriptions_of(self, profile: Profile) -> list[StoredSubscription]:
        """The profile's live subscriptions (one BatchGet), oldest registration first."""
        if not profile.push_endpoints:
            return []
        items = self._store._batch_get(
            [
                (
                    keys.push_subscription_pk_for_digest(profile.shop_id, digest),
                    keys.PUSH_SUBSCRIPTION_SK,
                )
                for digest in profile.push_endpoints
            ]
        )
        found = []
        for item in items:
            if item.get("profile_id") != profile.profile_id or "removed_at" in item:
                continue  # moved to another person on a shared browser, or removed
            sub = PushSubscription(item["endpoint"], item["p256dh"], item["auth"])
            found.append(
                StoredSubscription(
                    sub, keys.endpoint_digest(item["endpoint"]), _when(item["registered_at"])
                )
            )
        return sorted(found, key=lambda s: s.registered_at)

    # -- resumable send reservations -------------------------------------------------------

    def reserve(
        self,
        shop_id: str,
        profile_id: str,
        job_key: str,
        *,
        kind: str,
        at: datetime,
        retention: timedelta,
        step: int | None = None,
    ) -> Reservation | None:
        """The right to send one message, or None if it was sent (or tried) already. A job that
        stopped to retry later (status `retrying`) is resumed, not refused. `step`: the
        journey step the message is (kept on the record for the KPIs)."""
        key = {"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.send_sk(job_key)}
        step_values = {} if step is None else {":step": to_value(step)}
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=to_item(key),
                UpdateExpression="SET #status = :sending, message_kind = :kind, #kind = :send, "
                "shop_id = :shop, profile_id = :profile, created_at = if_not_exists("
                "created_at, :at), expires_at = :expires"
                + (", #step = :step" if step_values else ""),
                ConditionExpression="attribute_not_exists(pk) OR #status = :retrying",
                ExpressionAttributeNames={
                    "#status": "status",
                    "#kind": "kind",
                    **({"#step": "step"} if step_values else {}),
                },
                ExpressionAttributeValues={
                    **step_values,
                    ":sending": to_value(SENDING),
                    ":retrying": to_value(RETRYING),
                    ":kind": to_value(kind),
                    ":send": to_value("send"),
                    ":shop": to_value(shop_id),
                    ":profile": to_value(profile_id),
                    ":at": to_value(at),
                    ":expires": to_value(int((at + retention).timestamp())),
                },
                ReturnValues="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        old = from_item(response["Attributes"]) if response.get("Attributes") else {}
        return Reservation(
            resumed=bool(old),
            channel=old.get("channel"),
            cap_taken=bool(old.get("cap_taken")),
        )

    def note_channel(
        self, shop_id: str, profile_id: str, job_key: str, channel: str, *, cap_taken: bool
    ) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=to_item({"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.send_sk(job_key)}),
            UpdateExpression="SET channel = :channel, cap_taken = :cap",
            ExpressionAttributeValues={
                ":channel": to_value(channel),
                ":cap": to_value(cap_taken),
            },
        )

    def retry_later(self, shop_id: str, profile_id: str, job_key: str, at: datetime) -> None:
        """Park the reservation so the redelivered job resumes it."""
        self._client.update_item(
            TableName=self._table,
            Key=to_item({"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.send_sk(job_key)}),
            UpdateExpression="SET #status = :retrying, retry_at = :at",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":retrying": to_value(RETRYING), ":at": to_value(at)},
        )

    # -- push attempts (one per subscription and message) -----------------------------------

    def push_attempts(self, shop_id: str, profile_id: str, job_key: str) -> dict[str, str]:
        """Subscription digest -> status of this message's earlier attempts."""
        prefix = keys.send_sk(job_key) + "#PUSH#"
        found: dict[str, str] = {}
        for page in self._store._pages(
            "query",
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": to_value(keys.profile_pk(shop_id, profile_id)),
                ":prefix": to_value(prefix),
            },
            ConsistentRead=True,
        ):
            for item in page["Items"]:
                record = from_item(item)
                found[record["sk"].removeprefix(prefix)] = record.get("status", SENDING)
        return found

    def start_push_attempt(
        self,
        shop_id: str,
        profile_id: str,
        job_key: str,
        digest: str,
        *,
        at: datetime,
        retention: timedelta,
    ) -> bool:
        """Reserve one POST to one subscription; False if this message already tried it."""
        return self._store._conditional(
            self._client.put_item,
            TableName=self._table,
            Item=to_item(
                {
                    **self._attempt_key(shop_id, profile_id, job_key, digest),
                    "kind": "push_attempt",
                    "status": SENDING,
                    "created_at": at,
                    "expires_at": int((at + retention).timestamp()),
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def finish_push_attempt(
        self, shop_id: str, profile_id: str, job_key: str, digest: str, status: str
    ) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=to_item(self._attempt_key(shop_id, profile_id, job_key, digest)),
            UpdateExpression="SET #status = :status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":status": to_value(status)},
        )

    def release_push_attempt(
        self, shop_id: str, profile_id: str, job_key: str, digest: str
    ) -> None:
        """The push service asked us to come back later: known not delivered, may be retried."""
        self._client.delete_item(
            TableName=self._table,
            Key=to_item(self._attempt_key(shop_id, profile_id, job_key, digest)),
        )

    # -- the frequency cap -----------------------------------------------------------------

    def take_cap_slot(self, profile: Profile, channel: str, recent: list[datetime]) -> bool:
        """Write the channel's new send history if the profile is still as read (its version):
        two senders racing for the last slot cannot both win."""
        history = dict(profile.messages.recent_marketing)
        history[channel] = recent
        return self._store._conditional(
            self._client.update_item,
            TableName=self._table,
            Key=to_item(
                {"pk": keys.profile_pk(profile.shop_id, profile.profile_id), "sk": keys.PROFILE_SK}
            ),
            UpdateExpression="SET messages.recent_marketing = :history, version = version + :one",
            ConditionExpression="version = :version",
            ExpressionAttributeValues={
                ":history": to_value(history),
                ":one": to_value(1),
                ":version": to_value(profile.version),
            },
        )

    def _attempt_key(
        self, shop_id: str, profile_id: str, job_key: str, digest: str
    ) -> dict[str, str]:
        return {
            "pk": keys.profile_pk(shop_id, profile_id),
            "sk": f"{keys.send_sk(job_key)}#PUSH#{digest}",
        }

    @staticmethod
    def _sub_key(pk: str) -> dict[str, Any]:
        return to_item({"pk": pk, "sk": keys.PUSH_SUBSCRIPTION_SK})


def _when(value: Any) -> datetime:
    return value if isinstance(value, datetime) else parse_iso(str(value))


def record_click(store: Store, shop_id: str, profile_id: str, job_key: str, at: datetime) -> bool:
    """Count a click on a message's tracked link (first click time kept); False if the message
    is no longer on file (its record expired)."""
    return store._conditional(
        store._client.update_item,
        TableName=store._table,
        Key=to_item({"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.send_sk(job_key)}),
        UpdateExpression="SET clicked_at = if_not_exists(clicked_at, :at), "
        "clicks = if_not_exists(clicks, :zero) + :one",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={
            ":at": to_value(at),
            ":zero": to_value(0),
            ":one": to_value(1),
        },
    )


def take_address_slot(
    store: Store,
    shop_id: str,
    channel: str,
    address: str,
    recent_after: Callable[[list[datetime]], list[datetime] | None],
) -> bool:
    """The frequency cap kept per address as well as per profile: several profiles may carry
    one phone number or email (anyone with the public write key can make them), and the
    person behind it must not get a message per profile. `recent_after` gets the address's
    send history and returns the new one, or None when the cap is reached."""
    key = {"pk": f"{keys.shop_pk(shop_id)}#CAP#{channel}#{keys.digest(address)}", "sk": "CAP"}
    for _ in range(3):
        found = store._get(key["pk"], key["sk"], consistent=True)
        history = [_when(at) for at in (found or {}).get("recent", [])]
        updated = recent_after(history)
        if updated is None:
            return False
        version = int((found or {}).get("version", 0))
        written = store._conditional(
            store._client.put_item,
            TableName=store._table,
            Item=to_item(
                {
                    **key,
                    "kind": "address_cap",
                    "recent": updated,
                    "version": version + 1,
                    "expires_at": int(max(updated).timestamp()) + 40 * 86_400,
                }
            ),
            ConditionExpression="attribute_not_exists(pk) OR version = :version",
            ExpressionAttributeValues={":version": to_value(version)},
        )
        if written:
            return True
    return False


def spend_sms_budget(store: Store, shop_id: str, day: str, limit: int) -> bool:
    """Count one SMS against the shop's daily budget; False once it is spent (a ceiling on
    what a flood of fake sign-ups could cost)."""
    return store._conditional(
        store._client.update_item,
        TableName=store._table,
        Key=to_item({"pk": f"{keys.shop_pk(shop_id)}#SMSBUDGET#{day}", "sk": "BUDGET"}),
        UpdateExpression="ADD sent :one SET expires_at = if_not_exists(expires_at, :expires)",
        ConditionExpression="attribute_not_exists(sent) OR sent < :limit",
        ExpressionAttributeValues={
            ":one": to_value(1),
            ":limit": to_value(limit),
            ":expires": to_value(int(datetime.fromisoformat(day).timestamp()) + 3 * 86_400),
        },
    )
