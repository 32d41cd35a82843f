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
    ttl_attribute: str
    indexes: tuple[IndexSpec, ...] = field(default_factory=tuple)


# Sparse index of everything that falls due at a given time (cart reminders, win-backs, ...).
# Only items carrying `due_pk` appear in it; its sort key is the ISO-8601 UTC due time, so a
# sweep reads what is due up to now and nothing else.
DUE_INDEX = IndexSpec(name="due", partition_key="due_pk", sort_key="due_at")

TABLE = TableSpec(partition_key="pk", sort_key="sk", ttl_attribute="expires_at", indexes=(DUE_INDEX,))


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


def dynamodb_create_table_args(table_name: str) -> dict:
    """Arguments for boto3 `create_table`, derived from `TABLE` (used by the local runner)."""
    attributes = {TABLE.partition_key, TABLE.sort_key}
    for index in TABLE.indexes:
        attributes.update({index.partition_key, index.sort_key})
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in sorted(attributes)
        ],
        "KeySchema": [
            {"AttributeName": TABLE.partition_key, "KeyType": "HASH"},
            {"AttributeName": TABLE.sort_key, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in TABLE.indexes
        ],
    }
