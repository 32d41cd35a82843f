"""Table, index and queue definitions shared by the CDK stack and the local runner.

One source of truth: `infra/storage.py` builds the DynamoDB table from `TABLE`, and the local
runner creates the very same table on moto's server from it, so keys and indexes can never
disagree between a deployment and a local run.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class TableSpec:
    partition_key: str
    sort_key: str
    ttl_attribute: str | None = None
    indexes: tuple[IndexSpec, ...] = field(default_factory=tuple)


# Shops, identity links, profiles, raw events (expiring) and send records, keyed by shop first.
TABLE = TableSpec(partition_key="pk", sort_key="sk", ttl_attribute="expires_at")

# Index of everything that falls due at a given time (cart reminders, win-backs, ...). Its
# sort key is the ISO-8601 UTC due time, so a sweep reads what is due up to now and nothing
# else. Timers live in a table of their own, one small item per pending timer, so the index
# never carries (nor is written for) profile or event items.
DUE_INDEX = IndexSpec(name="due", partition_key="due_pk", sort_key="due_at")
TIMERS_TABLE = TableSpec(partition_key="pk", sort_key="sk", indexes=(DUE_INDEX,))


@dataclass(frozen=True)
class QueueSpec:
    name: str
    visibility_timeout_seconds: int
    max_receive_count: int


# Accepted events wait here until the processor has applied them to profiles.
EVENTS_QUEUE = QueueSpec(name="events", visibility_timeout_seconds=180, max_receive_count=5)
# Message jobs claimed by a sweep wait here for the sender.
SEND_QUEUE = QueueSpec(name="send", visibility_timeout_seconds=180, max_receive_count=5)

DEAD_LETTER_RETENTION_DAYS = 14


def dynamodb_create_table_args(table_name: str, spec: TableSpec) -> dict:
    """Arguments for boto3 `create_table`, derived from a spec (used by the local runner)."""
    attributes = {spec.partition_key, spec.sort_key}
    for index in spec.indexes:
        attributes.update({index.partition_key, index.sort_key})
    args: dict = {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in sorted(attributes)
        ],
        "KeySchema": [
            {"AttributeName": spec.partition_key, "KeyType": "HASH"},
            {"AttributeName": spec.sort_key, "KeyType": "RANGE"},
        ],
    }
    if spec.indexes:
        args["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in spec.indexes
        ]
    return args
