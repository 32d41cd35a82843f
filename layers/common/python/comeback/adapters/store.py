"""The DynamoDB repository: every read and write of the single table goes through here.

Keys come from `comeback.keys`, the table layout from `comeback.schema`. Writes that must
happen together (an event and the profile it changes) are one transaction; races are settled
by conditions, never by reading first and hoping.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from comeback import keys
from comeback.adapters.dynamo_types import from_item, to_item, to_value
from comeback.adapters.shop_records import settings_attribute
from comeback.clock import iso
from comeback.domain.timers import TimerChange, due_day
from comeback.errors import ConcurrentUpdate
from comeback.jsonutil import dumps
from comeback.models.events import AcceptedEvent
from comeback.models.profile import ConsentDecision, Profile
from comeback.models.shop import Shop
from comeback.schema import DUE_INDEX

_BATCH_GET_LIMIT = 100
_CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class DueTimer:
    shop_id: str
    profile_id: str
    kind: str
    due_at: str
    subject: str
    claim_key: str | None


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class Store:
    def __init__(self, client: Any, table_name: str, timers_table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._timers = timers_table_name

    # -- shops -----------------------------------------------------------------------------

    def create_shop(self, shop: Shop, *, write_key: str, secret_key: str) -> None:
        shop_item = {
            "pk": keys.shop_pk(shop.shop_id),
            "sk": keys.SHOP_SK,
            "kind": "shop",
            **shop.model_dump(exclude={"settings"}),
        }
        put_shop = self._put(shop_item, "attribute_not_exists(pk)")
        # Settings keep their None values (no quiet hours): a dropped key reads as its default.
        put_shop["Put"]["Item"]["settings"] = settings_attribute(shop.settings)
        self._client.transact_write_items(
            TransactItems=[
                put_shop,
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": to_item({"pk": keys.SHOP_REGISTRY_PK, "sk": keys.SHOP_REGISTRY_PK}),
                        "UpdateExpression": "ADD shop_ids :shop",
                        "ExpressionAttributeValues": {":shop": {"SS": [shop.shop_id]}},
                    }
                },
                self._put(
                    {
                        "pk": keys.write_key_pk(write_key),
                        "sk": keys.WRITE_KEY_SK,
                        "shop_id": shop.shop_id,
                        "key_type": "write",
                    },
                    "attribute_not_exists(pk)",
                ),
                self._put(
                    {
                        "pk": keys.write_key_pk(secret_key),
                        "sk": keys.WRITE_KEY_SK,
                        "shop_id": shop.shop_id,
                        "key_type": "secret",
                    },
                    "attribute_not_exists(pk)",
                ),
            ]
        )

    def shop_for_key(self, key: str) -> tuple[str, str] | None:
        """The shop a key belongs to and the key's type (`write` or `secret`)."""
        item = self._get(keys.write_key_pk(key), keys.WRITE_KEY_SK, consistent=False)
        if item is None:
            return None
        return item["shop_id"], item["key_type"]

    def get_shop(self, shop_id: str) -> Shop | None:
        item = self._get(keys.shop_pk(shop_id), keys.SHOP_SK, consistent=False)
        return Shop.model_validate(item) if item else None

    def list_shop_ids(self) -> list[str]:
        """Every shop, from one registry item (a self-hosted stack serves a handful of shops;
        one item holds thousands)."""
        item = self._get(keys.SHOP_REGISTRY_PK, keys.SHOP_REGISTRY_PK, consistent=False)
        return sorted(item.get("shop_ids", set())) if item else []

    # -- identities and profiles -------------------------------------------------------------

    def find_links(self, shop_id: str, identifiers: list[str]) -> dict[str, str]:
        """Identifier -> profile id, for the identifiers that are known."""
        by_pk = {keys.identity_pk(shop_id, i): i for i in identifiers}
        items = self._batch_get([(pk, keys.IDENTITY_SK) for pk in by_pk])
        return {by_pk[item["pk"]]: item["profile_id"] for item in items}

    def get_profiles(self, shop_id: str, profile_ids: Iterable[str]) -> dict[str, Profile]:
        wanted = [(keys.profile_pk(shop_id, pid), keys.PROFILE_SK) for pid in set(profile_ids)]
        return {
            item["profile_id"]: Profile.model_validate(item) for item in self._batch_get(wanted)
        }

    def get_profile(self, shop_id: str, profile_id: str) -> Profile | None:
        item = self._get(keys.profile_pk(shop_id, profile_id), keys.PROFILE_SK, consistent=True)
        return Profile.model_validate(item) if item else None

    def read_for_event(
        self, shop_id: str, identifiers: list[str], message_id: str
    ) -> tuple[dict[str, str], bool]:
        """In one request: the profiles the identifiers link to, and whether the event was
        recorded (fully applied) before."""
        by_pk = {keys.identity_pk(shop_id, i): i for i in identifiers}
        event_key = (keys.event_pk(shop_id, message_id), keys.EVENT_SK)
        items = self._batch_get([(pk, keys.IDENTITY_SK) for pk in by_pk] + [event_key])
        links = {by_pk[item["pk"]]: item["profile_id"] for item in items if item["pk"] in by_pk}
        recorded = any(item["pk"] == event_key[0] for item in items)
        return links, recorded

    def read_for_events(
        self, wanted: list[tuple[str, list[str], str]]
    ) -> tuple[dict[tuple[str, str], str], set[tuple[str, str]], dict[tuple[str, str], Profile]]:
        """`read_for_event` and `get_profiles` for a batch of events (shop, identifiers,
        message id) in two requests: links by (shop, identifier), recorded (shop, message
        id) pairs, and the linked profiles by (shop, profile id)."""
        identity_keys: dict[str, tuple[str, str]] = {}
        event_keys: dict[str, tuple[str, str]] = {}
        for shop_id, identifiers, message_id in wanted:
            for identifier in identifiers:
                identity_keys[keys.identity_pk(shop_id, identifier)] = (shop_id, identifier)
            event_keys[keys.event_pk(shop_id, message_id)] = (shop_id, message_id)
        items = self._batch_get(
            [(pk, keys.IDENTITY_SK) for pk in identity_keys]
            + [(pk, keys.EVENT_SK) for pk in event_keys]
        )
        links = {identity_keys[i["pk"]]: i["profile_id"] for i in items if i["pk"] in identity_keys}
        recorded = {event_keys[i["pk"]] for i in items if i["pk"] in event_keys}
        profile_keys = {(shop, pid) for (shop, _), pid in links.items()}
        found = self._batch_get(
            [(keys.profile_pk(shop, pid), keys.PROFILE_SK) for shop, pid in profile_keys]
        )
        profiles = {(i["shop_id"], i["profile_id"]): Profile.model_validate(i) for i in found}
        return links, recorded, profiles

    def link_identifiers(
        self, shop_id: str, profile_id: str, identifiers: Iterable[str], at: datetime
    ) -> None:
        """Point new identifiers at a profile; ConcurrentUpdate if one was taken meanwhile."""
        for identifier in identifiers:
            if not self._conditional(
                self._client.put_item,
                **self._put(
                    {
                        "pk": keys.identity_pk(shop_id, identifier),
                        "sk": keys.IDENTITY_SK,
                        "kind": "identity",
                        "shop_id": shop_id,
                        "profile_id": profile_id,
                        "identifier_type": identifier.split(":", 1)[0],
                        "created_at": at,
                    },
                    "attribute_not_exists(pk) OR profile_id = :mine",
                    {":mine": to_value(profile_id)},
                )["Put"],
            ):
                raise ConcurrentUpdate(profile_id)

    def unlink_identifiers(self, shop_id: str, profile_id: str, identifiers: Iterable[str]) -> None:
        """Take back links to a profile that was never written (its creation lost a race), so
        no identifier is left pointing at nothing."""
        for identifier in identifiers:
            self._conditional(
                self._client.delete_item,
                TableName=self._table,
                Key=to_item({"pk": keys.identity_pk(shop_id, identifier), "sk": keys.IDENTITY_SK}),
                ConditionExpression="profile_id = :mine",
                ExpressionAttributeValues={":mine": to_value(profile_id)},
            )

    def freeze_profile(self, profile: Profile, into: str) -> bool:
        """Mark a profile as merged into another (`merged_into`), if nobody wrote it since it
        was read: from then on every reader follows the pointer, so the profile's data stays
        exactly as the merge reads it. False when it changed (or merged elsewhere) first."""
        return self._conditional_update(
            self._table,
            {"pk": keys.profile_pk(profile.shop_id, profile.profile_id), "sk": keys.PROFILE_SK},
            "SET #into = :into, version = :next",
            "version = :version AND attribute_not_exists(#into)",
            {"#into": "merged_into"},
            {
                ":into": to_value(into),
                ":version": to_value(profile.version),
                ":next": to_value(profile.version + 1),
            },
        )

    def move_links(
        self, shop_id: str, from_profile: str, to_profile: str, identifiers: Iterable[str]
    ) -> None:
        """Point identifiers that lead to `from_profile` at `to_profile` (others are left)."""
        for identifier in identifiers:
            self._conditional_update(
                self._table,
                {"pk": keys.identity_pk(shop_id, identifier), "sk": keys.IDENTITY_SK},
                "SET #profile = :to",
                "#profile = :from",
                {"#profile": "profile_id"},
                {":to": to_value(to_profile), ":from": to_value(from_profile)},
            )

    def save_profile(self, profile: Profile, expected_version: int | None) -> None:
        """Write a profile if nobody else wrote it since it was read (optimistic lock)."""
        item = {
            "pk": keys.profile_pk(profile.shop_id, profile.profile_id),
            "sk": keys.PROFILE_SK,
            "kind": "profile",
            **profile.model_dump(),
            **profile.derived(),
        }
        if expected_version is None:
            put = self._put(item, "attribute_not_exists(pk)")
        else:
            put = self._put(item, "version = :expected", {":expected": to_value(expected_version)})
        if not self._conditional(self._client.put_item, **put["Put"]):
            raise ConcurrentUpdate(profile.profile_id)

    def apply_timers(
        self, shop_id: str, profile_id: str, changes: list[TimerChange], now: datetime
    ) -> None:
        """Set or cancel timers, all in one request."""
        self._batch_write(
            {
                self._timers: [
                    self._timer_write(shop_id, profile_id, change, now) for change in changes
                ]
            }
        )

    def finish_event(
        self,
        event: AcceptedEvent,
        profile_id: str,
        timers: list[TimerChange],
        retention: timedelta,
        now: datetime,
    ) -> None:
        """The timers an applied event changed, and the event record that marks it applied
        (kept for its retention), in one request. The profile's version and recent-message
        digests already make the event count once, so the record needs no condition."""
        message = event.message
        record = to_item(
            {
                "pk": keys.event_pk(event.shop_id, event.message_id),
                "sk": keys.EVENT_SK,
                "kind": "event",
                "shop_id": event.shop_id,
                "profile_id": profile_id,
                "type": message.get("type"),
                "event": message.get("event"),
                "timestamp": event.timestamp,
                "received_at": event.received_at,
                "body": dumps(message),
                "expires_at": _epoch(event.received_at + retention),
            }
        )
        self._batch_write(
            {
                self._table: [{"PutRequest": {"Item": record}}],
                self._timers: [
                    self._timer_write(event.shop_id, profile_id, change, now) for change in timers
                ],
            }
        )

    def _batch_write(self, requests: dict[str, list[dict[str, Any]]]) -> None:
        pending = {table: items for table, items in requests.items() if items}
        while pending:
            pending = (
                self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            )

    def _timer_write(
        self, shop_id: str, profile_id: str, change: TimerChange, now: datetime
    ) -> dict[str, Any]:
        key = {"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.timer_sk(change.kind)}
        if change.due_at is None:
            return {"DeleteRequest": {"Key": to_item(key)}}
        return {
            "PutRequest": {
                "Item": to_item(
                    {
                        **key,
                        "kind": "timer",
                        "timer": change.kind,
                        "shop_id": shop_id,
                        "profile_id": profile_id,
                        DUE_INDEX.partition_key: keys.due_pk(
                            shop_id, change.kind, due_day(change.due_at, now)
                        ),
                        DUE_INDEX.sort_key: iso(change.due_at),
                        "subject": change.subject,
                    }
                )
            }
        }

    def record_consent(
        self, shop_id: str, profile_id: str, channel: str, decision: ConsentDecision
    ) -> bool:
        """Set one channel's consent; False if there is no such profile."""
        return self._conditional(
            self._client.update_item,
            TableName=self._table,
            Key=to_item({"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.PROFILE_SK}),
            UpdateExpression="SET consent.#channel = :decision, version = version + :one, "
            "updated_at = :now",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#channel": channel},
            ExpressionAttributeValues={
                ":decision": to_value(decision.model_dump()),
                ":one": to_value(1),
                ":now": to_value(decision.at),
            },
        )

    def record_message_sent(self, shop_id: str, profile_id: str, kind: str, at: datetime) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=to_item({"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.PROFILE_SK}),
            UpdateExpression="SET messages.sent = messages.sent + :one, "
            "messages.last_sent_at = :at, messages.last_by_kind.#kind = :at, "
            "version = version + :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#kind": kind},
            ExpressionAttributeValues={":one": to_value(1), ":at": to_value(at)},
        )

    def record_journey_entry(self, shop_id: str, profile_id: str, kind: str, at: datetime) -> None:
        """Note that the person entered a journey now (its re-entry cooldown counts from it)."""
        key = to_item({"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.PROFILE_SK})
        common: dict[str, Any] = {"TableName": self._table, "Key": key}
        entry = self._conditional(
            self._client.update_item,
            **common,
            UpdateExpression="SET messages.entered_by_kind.#kind = :at, version = version + :one",
            ConditionExpression="attribute_exists(messages.entered_by_kind)",
            ExpressionAttributeNames={"#kind": kind},
            ExpressionAttributeValues={":one": to_value(1), ":at": to_value(at)},
        )
        if not entry:  # a profile saved before journeys were recorded: start the map
            self._conditional(
                self._client.update_item,
                **common,
                UpdateExpression="SET messages.entered_by_kind = :entered, "
                "version = version + :one",
                ConditionExpression="attribute_exists(pk) "
                "AND attribute_not_exists(messages.entered_by_kind)",
                ExpressionAttributeValues={
                    ":one": to_value(1),
                    ":entered": to_value({kind: at}),
                },
            )

    # -- timers --------------------------------------------------------------------------------

    def due_timers(
        self, shop_id: str, kind: str, day: date, now: datetime, limit: int
    ) -> Iterator[DueTimer]:
        """One day's timers of one kind due up to `now`, oldest first: reads only what is due."""
        served = 0
        for page in self._pages(
            "query",
            table=self._timers,
            IndexName=DUE_INDEX.name,
            KeyConditionExpression=f"{DUE_INDEX.partition_key} = :due "
            f"AND {DUE_INDEX.sort_key} <= :now",
            ExpressionAttributeValues={
                ":due": to_value(keys.due_pk(shop_id, kind, day)),
                ":now": to_value(iso(now)),
            },
            Limit=min(limit, 500),
        ):
            for raw in page["Items"]:
                item = from_item(raw)
                yield DueTimer(
                    shop_id=shop_id,
                    profile_id=item["profile_id"],
                    kind=kind,
                    due_at=item[DUE_INDEX.sort_key],
                    subject=item["subject"],
                    claim_key=item.get("claim_key"),
                )
                served += 1
                if served >= limit:
                    return

    def sweep_cursor(self, shop_id: str, kind: str) -> date | None:
        """The first day whose due partition a sweep has not finished."""
        response = self._client.get_item(
            TableName=self._timers,
            ConsistentRead=True,
            Key=to_item({"pk": keys.sweep_cursor_pk(shop_id, kind), "sk": keys.SWEEP_CURSOR_SK}),
        )
        item = response.get("Item")
        return date.fromisoformat(from_item(item)["day"]) if item else None

    def advance_sweep_cursor(self, shop_id: str, kind: str, day: date) -> bool:
        """Move the cursor forward to `day` (never back, whatever runs overlap)."""
        return self._conditional_update(
            self._timers,
            {"pk": keys.sweep_cursor_pk(shop_id, kind), "sk": keys.SWEEP_CURSOR_SK},
            "SET #day = :day",
            "attribute_not_exists(pk) OR #day < :day",
            {"#day": "day"},
            {":day": to_value(day.isoformat())},
        )

    def get_timer(self, shop_id: str, profile_id: str, kind: str) -> DueTimer | None:
        """A profile's timer of one kind, as it stands (claimed or not)."""
        response = self._client.get_item(
            TableName=self._timers,
            Key=to_item({"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.timer_sk(kind)}),
            ConsistentRead=True,
        )
        if "Item" not in response:
            return None
        item = from_item(response["Item"])
        return DueTimer(
            shop_id=shop_id,
            profile_id=profile_id,
            kind=kind,
            due_at=item[DUE_INDEX.sort_key],
            subject=item["subject"],
            claim_key=item.get("claim_key"),
        )

    def claim_timer(self, timer: DueTimer, *, claim_key: str, lease_until: datetime) -> bool:
        """Take a due timer for one run: it leaves the due range until the lease ends."""
        return self._conditional_update(
            self._timers,
            self._timer_key(timer),
            "SET #due = :lease, #bucket = :bucket, claim_key = :claim ADD claims :one",
            "#due = :seen AND subject = :subject",
            {"#due": DUE_INDEX.sort_key, "#bucket": DUE_INDEX.partition_key},
            {
                ":lease": to_value(iso(lease_until)),
                ":claim": to_value(claim_key),
                ":bucket": to_value(keys.due_pk(timer.shop_id, timer.kind, lease_until.date())),
                ":one": to_value(1),
                ":seen": to_value(timer.due_at),
                ":subject": to_value(timer.subject),
            },
        )

    def finish_timer(self, shop_id: str, profile_id: str, kind: str, claim_key: str) -> bool:
        """Remove a timer once its job is done, unless it was re-armed meanwhile."""
        return self._conditional(
            self._client.delete_item,
            TableName=self._timers,
            Key=to_item({"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.timer_sk(kind)}),
            ConditionExpression="claim_key = :claim",
            ExpressionAttributeValues={":claim": to_value(claim_key)},
        )

    def rearm_timer(
        self,
        shop_id: str,
        profile_id: str,
        kind: str,
        claim_key: str,
        due_at: datetime,
        subject: str,
        now: datetime,
    ) -> bool:
        key = {"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.timer_sk(kind)}
        return self._conditional_update(
            self._timers,
            key,
            "SET #due = :due, #bucket = :bucket, subject = :subject REMOVE claim_key",
            "claim_key = :claim",
            {"#due": DUE_INDEX.sort_key, "#bucket": DUE_INDEX.partition_key},
            {
                ":due": to_value(iso(due_at)),
                ":subject": to_value(subject),
                ":bucket": to_value(keys.due_pk(shop_id, kind, due_day(due_at, now))),
                ":claim": to_value(claim_key),
            },
        )

    def _timer_key(self, timer: DueTimer) -> dict[str, str]:
        return {
            "pk": keys.profile_pk(timer.shop_id, timer.profile_id),
            "sk": keys.timer_sk(timer.kind),
        }

    # -- send records --------------------------------------------------------------------------

    def start_send(
        self,
        shop_id: str,
        profile_id: str,
        job_key: str,
        *,
        channel: str,
        kind: str,
        at: datetime,
        retention: timedelta,
    ) -> bool:
        """Reserve the right to send one message; False if it was sent (or tried) before."""
        return self._new_send_record(
            shop_id,
            profile_id,
            job_key,
            at=at,
            retention=retention,
            fields={"message_kind": kind, "channel": channel, "status": "sending"},
        )

    def finish_send(
        self,
        shop_id: str,
        profile_id: str,
        job_key: str,
        *,
        status: str,
        at: datetime,
        detail: str | None = None,
    ) -> None:
        values: dict[str, Any] = {":status": to_value(status), ":at": to_value(at)}
        expression = "SET #status = :status, finished_at = :at"
        if detail:
            expression += ", detail = :detail"
            values[":detail"] = to_value(detail)
        self._client.update_item(
            TableName=self._table,
            Key=to_item({"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.send_sk(job_key)}),
            UpdateExpression=expression,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def record_skip(
        self,
        shop_id: str,
        profile_id: str,
        job_key: str,
        *,
        kind: str,
        reason: str,
        at: datetime,
        retention: timedelta,
        step: int | None = None,
    ) -> None:
        """Note a job that was decided against, once (a retry does not overwrite a send)."""
        fields: dict[str, Any] = {"message_kind": kind, "status": "skipped", "detail": reason}
        if step is not None:
            fields["step"] = step
        self._new_send_record(
            shop_id, profile_id, job_key, at=at, retention=retention, fields=fields
        )

    def _new_send_record(
        self,
        shop_id: str,
        profile_id: str,
        job_key: str,
        *,
        at: datetime,
        retention: timedelta,
        fields: dict[str, Any],
    ) -> bool:
        return self._conditional(
            self._client.put_item,
            TableName=self._table,
            Item=to_item(
                {
                    "pk": keys.profile_pk(shop_id, profile_id),
                    "sk": keys.send_sk(job_key),
                    "kind": "send",
                    "shop_id": shop_id,
                    "profile_id": profile_id,
                    "created_at": at,
                    "expires_at": _epoch(at + retention),
                    **fields,
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def abandon_send(self, shop_id: str, profile_id: str, job_key: str) -> None:
        """Release a reservation whose send failed in a way worth retrying."""
        self._conditional(
            self._client.delete_item,
            TableName=self._table,
            Key=to_item({"pk": keys.profile_pk(shop_id, profile_id), "sk": keys.send_sk(job_key)}),
            ConditionExpression="#status = :sending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":sending": to_value("sending")},
        )

    # -- plumbing ------------------------------------------------------------------------------

    def scan_shop_items(self, shop_id: str) -> Iterator[dict[str, Any]]:
        """Every item of one shop (reports and tests; never on a request path)."""
        prefix = keys.shop_pk(shop_id) + "#"
        for page in self._pages(
            "scan",
            FilterExpression="begins_with(pk, :prefix) OR pk = :shop",
            ExpressionAttributeValues={
                ":prefix": to_value(prefix),
                ":shop": to_value(keys.shop_pk(shop_id)),
            },
        ):
            for item in page["Items"]:
                yield from_item(item)

    def _put(
        self, values: dict[str, Any], condition: str, condition_values: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": to_item(values),
            "ConditionExpression": condition,
        }
        if condition_values:
            put["ExpressionAttributeValues"] = condition_values
        return {"Put": put}

    def _get(self, pk: str, sk: str, *, consistent: bool) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item({"pk": pk, "sk": sk}), ConsistentRead=consistent
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def _batch_get(self, key_pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        pending = [to_item({"pk": pk, "sk": sk}) for pk, sk in dict.fromkeys(key_pairs)]
        for start in range(0, len(pending), _BATCH_GET_LIMIT):
            request = {
                self._table: {
                    "Keys": pending[start : start + _BATCH_GET_LIMIT],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                found.extend(from_item(i) for i in response["Responses"].get(self._table, []))
                request = response.get("UnprocessedKeys") or {}
        return found

    def _conditional_update(
        self,
        table: str,
        key: dict[str, str],
        update: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
    ) -> bool:
        return self._conditional(
            self._client.update_item,
            TableName=table,
            Key=to_item(key),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    @staticmethod
    def _conditional(operation: Any, **request: Any) -> bool:
        """Run a conditional write; False when its condition did not hold."""
        try:
            operation(**request)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == _CONDITION_FAILED:
                return False
            raise
        return True

    def _pages(
        self, operation: str, table: str | None = None, **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        kwargs["TableName"] = table or self._table
        while True:
            page = getattr(self._client, operation)(**kwargs)
            yield page
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def job_key(kind: str, subject: str) -> str:
    """The idempotency key of one message: one send per profile, kind and subject."""
    return f"{kind}#{hashlib.sha256(subject.encode()).hexdigest()[:24]}"
