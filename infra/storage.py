"""The one DynamoDB table, built from `comeback.schema.TABLE` so keys and indexes cannot drift."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from comeback.schema import TABLE, TableSpec
from constructs import Construct

from infra.lambdas import ComebackFunction
from infra.nag import acknowledge


def _string_key(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class Storage(Construct):
    """Shops, profiles, journeys, timers and send records, all keyed by shop first."""

    def __init__(self, scope: Construct, construct_id: str, *, spec: TableSpec = TABLE) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=_string_key(spec.partition_key),
            sort_key=_string_key(spec.sort_key),
            time_to_live_attribute=spec.ttl_attribute,
            # Every index is sparse and read whole by the sweeps, so it carries every attribute.
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


def grant_table_access(
    table: dynamodb.TableV2, function: ComebackFunction, *, write: bool = False
) -> None:
    """Let a function read (or read and write) the table's items and query its indexes."""
    if write:
        table.grant_read_write_data(function.function)
    else:
        table.grant_read_data(function.function)
    # The grant covers `<table>/index/*` so that the function may query the indexes.
    table_logical_id = Stack.of(table).get_logical_id(table.node.default_child)
    acknowledge(
        function.role.node.find_child("DefaultPolicy"),
        f"AwsSolutions-IAM5[Resource::<{table_logical_id}.Arn>/index/*]",
        "The wildcard spans only this table's own indexes (comeback.schema: the sparse 'due' "
        "index), which hold the same shop-keyed items the role may read in the table itself.",
    )
