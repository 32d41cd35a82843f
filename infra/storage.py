"""The two DynamoDB tables, built from `comeback.schema` so keys and indexes cannot drift.

`TABLE` holds shops, identity links, profiles, raw events (expiring by TTL) and send records;
`TIMERS_TABLE` holds one item per pending timer and the `due` index the sweeps query.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from comeback.schema import TABLE, TIMERS_TABLE, TableSpec
from constructs import Construct

from infra.lambdas import ComebackFunction
from infra.nag import acknowledge


def _string_key(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def _table(scope: Construct, construct_id: str, spec: TableSpec) -> dynamodb.TableV2:
    return dynamodb.TableV2(
        scope,
        construct_id,
        partition_key=_string_key(spec.partition_key),
        sort_key=_string_key(spec.sort_key),
        # None (the timers table) leaves TTL off: a timer goes when it is claimed, not by age.
        time_to_live_attribute=spec.ttl_attribute,
        # The sweeps read each index whole, so it carries every attribute.
        global_secondary_indexes=[
            dynamodb.GlobalSecondaryIndexPropsV2(
                index_name=index.name,
                partition_key=_string_key(index.partition_key),
                sort_key=_string_key(index.sort_key),
                projection_type=dynamodb.ProjectionType.ALL,
            )
            for index in spec.indexes
        ],
        billing=dynamodb.Billing.on_demand(),
        encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        # Customer data outlives the stack: deleting the stack leaves the table behind, and
        # deleting the table by hand takes turning deletion protection off first.
        deletion_protection=True,
        removal_policy=RemovalPolicy.RETAIN,
    )


class Storage(Construct):
    """The main table (`table`) and the timers table (`timers_table`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: TableSpec = TABLE,
        timers_spec: TableSpec = TIMERS_TABLE,
    ) -> None:
        super().__init__(scope, construct_id)
        # "Table" keeps the main table's logical id from before the timers moved out, so an
        # update changes that table in place instead of replacing it.
        self.table = _table(self, "Table", spec)
        self.timers_table = _table(self, "TimersTable", timers_spec)
        self._specs = ((self.table, spec), (self.timers_table, timers_spec))

    @property
    def table_names(self) -> dict[str, str]:
        """Both table names, as the `StoreSettings` fields every function's settings extend."""
        return {
            "table_name": self.table.table_name,
            "timers_table_name": self.timers_table.table_name,
        }

    def grant(
        self, table: dynamodb.TableV2, function: ComebackFunction, *, write: bool = False
    ) -> None:
        """Let a function read (or read and write) one table's items and query its indexes."""
        spec = next((spec for built, spec in self._specs if built is table), None)
        if spec is None:
            raise ValueError(f"{table.node.path} is not a table of {self.node.path}")
        if write:
            table.grant_read_write_data(function.function)
        else:
            table.grant_read_data(function.function)
        if not spec.indexes:
            # With no index, the grant names the table's ARN alone: no wildcard to review.
            return
        table_logical_id = Stack.of(table).get_logical_id(table.node.default_child)
        index_names = ", ".join(f"'{index.name}'" for index in spec.indexes)
        acknowledge(
            function.role.node.find_child("DefaultPolicy"),
            f"AwsSolutions-IAM5[Resource::<{table_logical_id}.Arn>/index/*]",
            f"The wildcard spans only the indexes of {table.node.path} (comeback.schema: "
            f"{index_names}), which project items of that same table, readable by this role "
            "in the table itself; no other table's index matches the ARN.",
        )
