"""The synthesized Comeback stack: resources, their key properties and how they are wired.

One template is synthesized for the whole module. Resources are found through the stack's
constructs (never by hard-coded logical ids), and expected values come from the same shared
modules the stack is built from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from comeback.routes import ROUTES
from comeback.schema import (
    DEAD_LETTER_RETENTION_DAYS,
    DUE_INDEX,
    EVENTS_QUEUE,
    SEND_QUEUE,
    TABLE,
    TIMERS_TABLE,
    TableSpec,
    dynamodb_create_table_args,
)
from constructs import IConstruct
from infra_support import (
    FUNCTION_NAMES,
    READ_WRITE,
    TABLE_ACCESS,
    TEST_SENDER_DOMAIN,
    UPDATE_ONLY,
    cdk_context,
)

from infra import REPO_ROOT
from infra.config import ConfigError
from infra.deps_layer import PYTHON_VERSION, STAMP_NAME
from infra.lambdas import HANDLER, HANDLER_FILE, MissingSourceError, SourcePaths
from infra.messaging import DEFAULT_FROM_LOCAL_PART, MAIL_FROM_SUBDOMAIN
from infra.queues import VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT
from infra.stack import ComebackStack
from infra.sweeps import SWEEP_EVENT_KEY, SWEEP_TIMEOUT_MINUTES, SWEEPS

STACK_NAME = "ComebackTest"
SECONDS_PER_DAY = 86_400
SECONDS_PER_MINUTE = 60
LOG_RETENTION_DAYS = 30
API_GATEWAY_MAX_TIMEOUT_SECONDS = 30

# Both tables, by their attribute on `Storage`, with the schema each one is built from.
TABLES = {"table": TABLE, "timers_table": TIMERS_TABLE}
TABLE_VARIABLES = {"table": "COMEBACK_TABLE_NAME", "timers_table": "COMEBACK_TIMERS_TABLE_NAME"}
# Actions `grant_read_write_data` adds beyond reading.
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}

POWERTOOLS_VARIABLES = {
    "POWERTOOLS_SERVICE_NAME": "comeback",
    "POWERTOOLS_METRICS_NAMESPACE": "Comeback",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
FUNCTION_VARIABLES = {
    "intake": {"COMEBACK_EVENTS_QUEUE_URL", "COMEBACK_VAPID_SECRET_ARN"},
    "processor": {"COMEBACK_SEND_QUEUE_URL"},  # order-status messages
    "sweep": {"COMEBACK_SEND_QUEUE_URL"},
    "sender": {
        "COMEBACK_SIGNING_SECRET_ARN",
        "COMEBACK_PUBLIC_BASE_URL",
        "COMEBACK_SES_CONFIGURATION_SET",
        "COMEBACK_DEFAULT_FROM_ADDRESS",
        "COMEBACK_SEND_QUEUE_URL",
        "COMEBACK_VAPID_SECRET_ARN",
    },
    "unsubscribe": {"COMEBACK_SIGNING_SECRET_ARN"},
    "feedback": set(),
    "webhooks": {
        "COMEBACK_EVENTS_QUEUE_URL",
        "COMEBACK_SEND_QUEUE_URL",
        "COMEBACK_WEBHOOK_SECRET_ARN",
    },
    "web": set(),
    "valuation": set(),
    "privacy": set(),
    "reporting": set(),
}


@dataclass(frozen=True)
class Synth:
    stack: ComebackStack
    template: Template
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]
    assembly_dir: Path

    def logical_id(self, construct: IConstruct) -> str:
        cfn = construct.node.default_child or construct
        return self.stack.get_logical_id(cfn)  # type: ignore[arg-type]

    def resource(self, construct: IConstruct) -> dict[str, Any]:
        return self.resources[self.logical_id(construct)]

    def of_type(self, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource["Type"] == resource_type:
                yield logical_id, resource

    def asset_dir(self, s3_key: str) -> Path:
        return self.assembly_dir / f"asset.{s3_key.removesuffix('.zip')}"


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def get_att(logical_id: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, attribute]}


@pytest.fixture(scope="module")
def synth(sources: SourcePaths, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    # Given the stack built from the shared schema, routes and settings
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(context=cdk_context(), outdir=str(outdir))
    stack = ComebackStack(app, STACK_NAME, sender_domain=TEST_SENDER_DOMAIN, sources=sources)
    # When it is synthesized
    assembly = app.synth()
    template_json = assembly.get_stack_by_name(STACK_NAME).template
    return Synth(
        stack=stack,
        template=Template.from_json(template_json),
        resources=template_json["Resources"],
        outputs=template_json["Outputs"],
        assembly_dir=Path(assembly.directory),
    )


def test_two_tables(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::DynamoDB::GlobalTable", len(TABLES))


@pytest.mark.parametrize(("attribute", "spec"), TABLES.items(), ids=TABLES)
def test_table_keys_and_indexes_come_from_the_shared_schema(
    synth: Synth, attribute: str, spec: TableSpec
) -> None:
    # Given the table definition the local runner creates on moto
    local_table = dynamodb_create_table_args("any", spec)
    # Then the deployed table has the very same keys, attributes and indexes
    properties = synth.resource(getattr(synth.stack.storage, attribute))["Properties"]
    assert properties["KeySchema"] == local_table["KeySchema"]
    assert sorted(properties["AttributeDefinitions"], key=str) == sorted(
        local_table["AttributeDefinitions"], key=str
    )
    assert properties.get("GlobalSecondaryIndexes") == local_table.get("GlobalSecondaryIndexes")


def test_main_table_expires_items_and_has_no_index(synth: Synth) -> None:
    properties = synth.resource(synth.stack.storage.table)["Properties"]
    assert properties["TimeToLiveSpecification"] == {
        "AttributeName": TABLE.ttl_attribute,
        "Enabled": True,
    }
    assert "GlobalSecondaryIndexes" not in properties
    assert "LocalSecondaryIndexes" not in properties


def test_timers_table_has_the_due_index_and_no_ttl(synth: Synth) -> None:
    properties = synth.resource(synth.stack.storage.timers_table)["Properties"]
    assert TIMERS_TABLE.ttl_attribute is None
    assert "TimeToLiveSpecification" not in properties
    (index,) = properties["GlobalSecondaryIndexes"]
    assert index == {
        "IndexName": DUE_INDEX.name,
        "KeySchema": [
            {"AttributeName": DUE_INDEX.partition_key, "KeyType": "HASH"},
            {"AttributeName": DUE_INDEX.sort_key, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def test_main_table_keeps_its_logical_id(synth: Synth) -> None:
    # Renaming its construct would make CloudFormation create a new, empty table.
    assert synth.stack.storage.table.node.id == "Table"
    assert synth.logical_id(synth.stack.storage.table).startswith("StorageTable")


@pytest.mark.parametrize("attribute", TABLES)
def test_table_is_on_demand_encrypted_recoverable_and_retained(
    synth: Synth, attribute: str
) -> None:
    # Then the table survives the stack and can be restored to any point in time
    resource = synth.resource(getattr(synth.stack.storage, attribute))
    properties = resource["Properties"]
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"]["SSEEnabled"] is True
    (replica,) = properties["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert replica["DeletionProtectionEnabled"] is True


@pytest.mark.parametrize("spec", [EVENTS_QUEUE, SEND_QUEUE], ids=lambda spec: spec.name)
def test_work_queues_redrive_to_dead_letter_queues(synth: Synth, spec: Any) -> None:
    # Given the queue defined in the shared schema
    work_queue = {queue.spec.name: queue for queue in synth.stack.queues.all}[spec.name]
    queue = synth.resource(work_queue.queue)["Properties"]
    dead_letters = synth.resource(work_queue.dead_letter_queue)["Properties"]
    # Then it has the schema's visibility timeout and redrive, and both queues are encrypted
    assert queue["VisibilityTimeout"] == spec.visibility_timeout_seconds
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": get_att(synth.logical_id(work_queue.dead_letter_queue), "Arn"),
        "maxReceiveCount": spec.max_receive_count,
    }
    assert dead_letters["MessageRetentionPeriod"] == DEAD_LETTER_RETENTION_DAYS * SECONDS_PER_DAY
    assert queue["SqsManagedSseEnabled"] is True
    assert dead_letters["SqsManagedSseEnabled"] is True


def test_every_queue_refuses_plain_http(synth: Synth) -> None:
    # Then each of the five queues (two work queues, three dead-letter queues, the feedback
    # function's among them) has a policy denying requests without TLS
    synth.template.resource_count_is("AWS::SQS::Queue", 5)
    synth.template.resource_count_is("AWS::SQS::QueuePolicy", 5)
    for _, policy in synth.of_type("AWS::SQS::QueuePolicy"):
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            statement["Effect"] == "Deny"
            and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for statement in statements
        )


def test_one_function_per_function_folder(synth: Synth) -> None:
    # Given the function folders that exist in the repository
    folders = {path.parent.name for path in (REPO_ROOT / "functions").glob(f"*/{HANDLER_FILE}")}
    # Then the stack deploys exactly the expected functions, covering every folder
    synth.template.resource_count_is("AWS::Lambda::Function", len(FUNCTION_NAMES))
    assert set(synth.stack.functions) == set(FUNCTION_NAMES)
    assert folders <= set(synth.stack.functions)


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_functions_run_python_313_on_arm64_with_both_layers(synth: Synth, name: str) -> None:
    function = synth.stack.functions[name]
    properties = synth.resource(function)["Properties"]
    # Then the runtime matches the platform the deps layer was built for
    assert properties["Runtime"] == f"python{PYTHON_VERSION}"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == HANDLER
    assert properties["Layers"] == [
        ref(synth.logical_id(synth.stack.layers.common)),
        ref(synth.logical_id(synth.stack.layers.deps)),
    ]
    # And its code asset is its own folder, with the handler and no bytecode
    code_dir = synth.asset_dir(properties["Code"]["S3Key"])
    assert (code_dir / HANDLER_FILE).is_file()
    assert not list(code_dir.rglob("__pycache__"))


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_functions_log_to_their_own_log_group_kept_a_month(synth: Synth, name: str) -> None:
    properties = synth.resource(synth.stack.functions[name])["Properties"]
    log_group_id = properties["LoggingConfig"]["LogGroup"]["Ref"]
    assert synth.resources[log_group_id]["Properties"]["RetentionInDays"] == LOG_RETENTION_DAYS


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_environment(synth: Synth, name: str) -> None:
    variables = synth.resource(synth.stack.functions[name])["Properties"]["Environment"][
        "Variables"
    ]
    # Then every function knows both tables and Powertools settings, plus its own settings
    expected = {*POWERTOOLS_VARIABLES, *TABLE_VARIABLES.values(), *FUNCTION_VARIABLES[name]}
    assert set(variables) == expected
    for attribute, variable in TABLE_VARIABLES.items():
        table = getattr(synth.stack.storage, attribute)
        assert variables[variable] == ref(synth.logical_id(table))
    for key, value in POWERTOOLS_VARIABLES.items():
        assert variables[key] == value


def _table_actions(synth: Synth, name: str) -> dict[str, set[str]]:
    """The DynamoDB actions a function's policy allows, by table attribute and index wildcard."""
    function = synth.stack.functions[name]
    role_id = synth.resource(function)["Properties"]["Role"]["Fn::GetAtt"][0]
    arns = {}
    for attribute in TABLES:
        table_arn = get_att(synth.logical_id(getattr(synth.stack.storage, attribute)), "Arn")
        arns[json.dumps(table_arn)] = attribute
        arns[json.dumps({"Fn::Join": ["", [table_arn, "/index/*"]]})] = f"{attribute}/index/*"
    actions: dict[str, set[str]] = {}
    for _, policy in synth.of_type("AWS::IAM::Policy"):
        if ref(role_id) not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            statement_actions = statement["Action"]
            if isinstance(statement_actions, str):
                statement_actions = [statement_actions]
            resources = statement["Resource"]
            if not isinstance(resources, list):
                resources = [resources]
            for resource in resources:
                if (table := arns.get(json.dumps(resource))) is not None:
                    actions.setdefault(table, set()).update(
                        action for action in statement_actions if action.startswith("dynamodb:")
                    )
    return actions


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_each_function_may_use_only_the_tables_it_needs(synth: Synth, name: str) -> None:
    actions = _table_actions(synth, name)
    wanted = TABLE_ACCESS[name]
    # Then it may use exactly the tables it needs (an index with its own table)...
    expected_resources = set(wanted)
    expected_resources |= {f"{table}/index/*" for table in wanted if TABLES[table].indexes}
    assert set(actions) == expected_resources
    # ...and write to those it must write to, only
    for table, access in wanted.items():
        if access == UPDATE_ONLY:
            assert actions[table] == {"dynamodb:UpdateItem"}, table
            continue
        assert "dynamodb:Query" in actions[table]
        expected_writes = WRITE_ACTIONS if access == READ_WRITE else set()
        assert actions[table] & WRITE_ACTIONS == expected_writes, table


def test_sender_links_point_at_the_http_api(synth: Synth) -> None:
    variables = synth.resource(synth.stack.functions["sender"])["Properties"]["Environment"][
        "Variables"
    ]
    api_id = synth.logical_id(synth.stack.api.http_api)
    assert variables["COMEBACK_PUBLIC_BASE_URL"] == get_att(api_id, "ApiEndpoint")
    assert variables["COMEBACK_SES_CONFIGURATION_SET"] == ref(
        synth.logical_id(synth.stack.messaging.configuration_set)
    )
    assert variables["COMEBACK_SIGNING_SECRET_ARN"] == ref(
        synth.logical_id(synth.stack.signing_key.secret)
    )


def test_sender_default_from_address_is_at_the_sender_domain(synth: Synth) -> None:
    variables = synth.resource(synth.stack.functions["sender"])["Properties"]["Environment"][
        "Variables"
    ]
    expected = f"{DEFAULT_FROM_LOCAL_PART}@{TEST_SENDER_DOMAIN}"
    assert variables["COMEBACK_DEFAULT_FROM_ADDRESS"] == expected
    # The SES identity is that domain, so any address at it may send
    identity = synth.resource(synth.stack.messaging.identity)["Properties"]
    assert expected.endswith("@" + identity["EmailIdentity"])


@pytest.mark.parametrize(
    ("consumer", "spec"), [("processor", EVENTS_QUEUE), ("sender", SEND_QUEUE)]
)
def test_queue_consumers_report_partial_batch_failures(
    synth: Synth, consumer: str, spec: Any
) -> None:
    # Given the function consuming a work queue
    function_id = synth.logical_id(synth.stack.functions[consumer])
    work_queue = {queue.spec.name: queue for queue in synth.stack.queues.all}[spec.name]
    mappings = [
        mapping["Properties"]
        for _, mapping in synth.of_type("AWS::Lambda::EventSourceMapping")
        if mapping["Properties"]["FunctionName"] == ref(function_id)
    ]
    # Then it reads that queue in batches and reports failed records one by one
    (mapping,) = mappings
    assert mapping["EventSourceArn"] == get_att(synth.logical_id(work_queue.queue), "Arn")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    assert mapping["MaximumBatchingWindowInSeconds"] <= 5
    # And it times out well inside the queue's visibility timeout
    timeout = synth.resources[function_id]["Properties"]["Timeout"]
    assert timeout * VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT <= spec.visibility_timeout_seconds


def test_only_the_two_queue_consumers_have_event_source_mappings(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::Lambda::EventSourceMapping", 2)


def test_sweeps_run_on_schedules_with_their_names(synth: Synth) -> None:
    # Then there is one rule per sweep, each invoking the sweep function with its name
    sweep_arn = get_att(synth.logical_id(synth.stack.functions["sweep"]), "Arn")
    all_rules = [rule["Properties"] for _, rule in synth.of_type("AWS::Events::Rule")]
    sweeps = {
        json.loads(target["Input"])[SWEEP_EVENT_KEY]: (rule["ScheduleExpression"], target)
        for rule in all_rules
        if rule["ScheduleExpression"] != WEEKLY_VALUATION
        for target in rule["Targets"]
    }
    assert {name: schedule for name, (schedule, _) in sweeps.items()} == {
        "cart_recovery": "rate(5 minutes)",
        "browse_abandonment": "rate(15 minutes)",
        "reactivation": "rate(1 hour)",
        "back_in_stock": "rate(15 minutes)",
        "price_drop": "rate(15 minutes)",
    }
    assert all(target["Arn"] == sweep_arn for _, target in sweeps.values())
    assert len(SWEEPS) == len(all_rules) - 1


WEEKLY_VALUATION = "cron(0 3 ? * MON *)"


def test_the_value_fit_runs_weekly_with_time_to_finish(synth: Synth) -> None:
    valuation = synth.stack.functions["valuation"]
    targets = [
        target
        for _, rule in synth.of_type("AWS::Events::Rule")
        if rule["Properties"]["ScheduleExpression"] == WEEKLY_VALUATION
        for target in rule["Properties"]["Targets"]
    ]
    assert [t["Arn"] for t in targets] == [get_att(synth.logical_id(valuation), "Arn")]
    properties = synth.resource(valuation)["Properties"]
    assert properties["Timeout"] == 15 * SECONDS_PER_MINUTE
    assert properties["MemorySize"] >= 1769


def test_a_sweep_run_ends_before_the_next_one_starts(synth: Synth) -> None:
    timeout = synth.resource(synth.stack.functions["sweep"])["Properties"]["Timeout"]
    assert timeout == SWEEP_TIMEOUT_MINUTES * SECONDS_PER_MINUTE
    assert timeout < min(sweep.every_minutes for sweep in SWEEPS) * SECONDS_PER_MINUTE


def test_one_route_per_shared_route_each_to_its_function(synth: Synth) -> None:
    # Given the integrations, keyed by the function each one invokes
    function_by_arn = {
        json.dumps(get_att(synth.logical_id(function), "Arn")): name
        for name, function in synth.stack.functions.items()
    }
    integration_function = {
        logical_id: function_by_arn[json.dumps(integration["Properties"]["IntegrationUri"])]
        for logical_id, integration in synth.of_type("AWS::ApiGatewayV2::Integration")
    }
    # Then each route of comeback.routes is deployed once, to the function it names
    deployed = {
        route["Properties"]["RouteKey"]: integration_function[
            route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
        ]
        for _, route in synth.of_type("AWS::ApiGatewayV2::Route")
    }
    assert deployed == {f"{route.method} {route.path}": route.function for route in ROUTES}
    synth.template.resource_count_is("AWS::ApiGatewayV2::Route", len(ROUTES))


def test_api_functions_answer_before_api_gateway_gives_up(synth: Synth) -> None:
    for name in {route.function for route in ROUTES}:
        timeout = synth.resource(synth.stack.functions[name])["Properties"]["Timeout"]
        assert timeout < API_GATEWAY_MAX_TIMEOUT_SECONDS


def test_api_allows_browser_posts_from_any_origin(synth: Synth) -> None:
    cors = synth.resource(synth.stack.api.http_api)["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == ["*"]
    assert "POST" in cors["AllowMethods"]
    assert {"authorization", "content-type"} <= set(cors["AllowHeaders"])


def test_api_stage_throttles_and_writes_access_logs(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::ApiGatewayV2::Stage", 1)
    stage = synth.resource(synth.stack.api.stage)["Properties"]
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    log_settings = stage["AccessLogSettings"]
    assert log_settings["DestinationArn"] == get_att(
        synth.logical_id(synth.stack.api.access_logs), "Arn"
    )
    assert "$context.requestId" in json.loads(log_settings["Format"]).values()


def test_ses_domain_identity_with_easy_dkim_and_custom_mail_from(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::SES::EmailIdentity", 1)
    identity = synth.resource(synth.stack.messaging.identity)["Properties"]
    assert identity["EmailIdentity"] == TEST_SENDER_DOMAIN
    assert identity["DkimSigningAttributes"] == {"NextSigningKeyLength": "RSA_2048_BIT"}
    assert identity["MailFromAttributes"]["MailFromDomain"] == (
        f"{MAIL_FROM_SUBDOMAIN}.{TEST_SENDER_DOMAIN}"
    )
    assert identity["ConfigurationSetAttributes"] == {
        "ConfigurationSetName": ref(synth.logical_id(synth.stack.messaging.configuration_set))
    }


def test_ses_configuration_set_tracks_reputation_and_suppresses_bad_addresses(
    synth: Synth,
) -> None:
    synth.template.has_resource_properties(
        "AWS::SES::ConfigurationSet",
        {
            "ReputationOptions": {"ReputationMetricsEnabled": True},
            "SuppressionOptions": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
        },
    )


def test_sender_may_send_through_the_identity_and_configuration_set_only(synth: Synth) -> None:
    policy_id = synth.logical_id(synth.stack.messaging.sender.role.node.find_child("DefaultPolicy"))
    statements = synth.resources[policy_id]["Properties"]["PolicyDocument"]["Statement"]
    (ses_statement,) = [s for s in statements if "ses:SendEmail" in s["Action"]]
    assert sorted(ses_statement["Action"]) == ["ses:SendEmail", "ses:SendRawEmail"]
    resources = json.dumps(ses_statement["Resource"])
    assert ":identity/" in resources
    assert ":configuration-set/" in resources
    assert '"*"' not in resources


def test_no_role_uses_an_aws_managed_policy(synth: Synth) -> None:
    for _, role in synth.of_type("AWS::IAM::Role"):
        assert "ManagedPolicyArns" not in role["Properties"]


def test_signing_key_is_generated_by_the_stack(synth: Synth) -> None:
    secret = synth.resource(synth.stack.signing_key.secret)["Properties"]
    assert secret["GenerateSecretString"]["PasswordLength"] == 64


def test_outputs_list_the_api_url_and_every_dns_record_to_add(synth: Synth) -> None:
    outputs = synth.outputs
    assert outputs["ApiUrl"]["Value"] == get_att(
        synth.logical_id(synth.stack.api.http_api), "ApiEndpoint"
    )
    dns_outputs = {name for name in outputs if name.startswith("DnsRecord")}
    assert dns_outputs == {
        "DnsRecordDkim1",
        "DnsRecordDkim2",
        "DnsRecordDkim3",
        "DnsRecordMailFromMx",
        "DnsRecordMailFromSpf",
        "DnsRecordDmarc",
    }
    assert outputs["DnsRecordMailFromSpf"]["Value"] == (
        f'{MAIL_FROM_SUBDOMAIN}.{TEST_SENDER_DOMAIN} TXT "v=spf1 include:amazonses.com ~all"'
    )
    # A DMARC policy that only reports, to an address at the sender domain itself.
    assert outputs["DnsRecordDmarc"]["Value"] == (
        f'_dmarc.{TEST_SENDER_DOMAIN} TXT "v=DMARC1; p=none; '
        f'rua=mailto:dmarc-reports@{TEST_SENDER_DOMAIN}"'
    )
    assert "feedback-smtp." in json.dumps(outputs["DnsRecordMailFromMx"]["Value"])


def test_the_dmarc_report_address_comes_from_context_and_is_checked(
    sources: SourcePaths,
) -> None:
    # Given a report address in the CDK context
    app = cdk.App(context=cdk_context(dmarcReportAddress="reports@dmarc.yourshop.com"))
    stack = ComebackStack(app, STACK_NAME, sender_domain=TEST_SENDER_DOMAIN, sources=sources)
    # Then the recommended DMARC record sends reports there
    assert stack.messaging.dns_records["Dmarc"].value == (
        '"v=DMARC1; p=none; rua=mailto:reports@dmarc.yourshop.com"'
    )
    # And something that is no address (here, an attempt to add a tag) is refused
    bad = cdk.App(context=cdk_context(dmarcReportAddress="reports; p=reject"))
    with pytest.raises(ConfigError, match="DMARC report address"):
        ComebackStack(bad, STACK_NAME, sender_domain=TEST_SENDER_DOMAIN, sources=sources)


def test_outputs_name_both_tables(synth: Synth) -> None:
    outputs = synth.outputs
    assert outputs["TableName"]["Value"] == ref(synth.logical_id(synth.stack.storage.table))
    assert outputs["TimersTableName"]["Value"] == ref(
        synth.logical_id(synth.stack.storage.timers_table)
    )


def _alarms_on(synth: Synth, metric_name: str) -> list[dict[str, Any]]:
    return [
        alarm["Properties"]
        for _, alarm in synth.of_type("AWS::CloudWatch::Alarm")
        if alarm["Properties"]["MetricName"] == metric_name
    ]


def test_an_alarm_on_each_dead_letter_queue(synth: Synth) -> None:
    alarms = _alarms_on(synth, "ApproximateNumberOfMessagesVisible")
    watched = [alarm["Dimensions"][0]["Value"] for alarm in alarms]
    dead_letter_queues = [queue.dead_letter_queue for queue in synth.stack.queues.all]
    dead_letter_queues.append(synth.stack.feedback.dead_letter_queue)
    expected = [get_att(synth.logical_id(queue), "QueueName") for queue in dead_letter_queues]
    assert sorted(map(json.dumps, watched)) == sorted(map(json.dumps, expected))
    for alarm in alarms:
        assert alarm["Namespace"] == "AWS/SQS"
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_an_error_alarm_on_each_function(synth: Synth) -> None:
    alarms = _alarms_on(synth, "Errors")
    watched = {json.dumps(alarm["Dimensions"][0]["Value"]) for alarm in alarms}
    assert watched == {
        json.dumps(ref(synth.logical_id(function))) for function in synth.stack.functions.values()
    }


def test_an_alarm_on_the_age_of_the_oldest_event(synth: Synth) -> None:
    (alarm,) = _alarms_on(synth, "ApproximateAgeOfOldestMessage")
    events_queue = synth.stack.queues.events.queue
    assert alarm["Dimensions"][0]["Value"] == get_att(synth.logical_id(events_queue), "QueueName")


def test_every_alarm_notifies_the_encrypted_ssl_only_topic(synth: Synth) -> None:
    topic_ref = ref(synth.logical_id(synth.stack.monitoring.topic))
    # Dead-letter queues, function errors, the events backlog and push 401/403s.
    synth.template.resource_count_is("AWS::CloudWatch::Alarm", 3 + len(FUNCTION_NAMES) + 2)
    for _, alarm in synth.of_type("AWS::CloudWatch::Alarm"):
        assert alarm["Properties"]["AlarmActions"] == [topic_ref]
    topic = synth.resource(synth.stack.monitoring.topic)["Properties"]
    assert topic["KmsMasterKeyId"] == get_att(synth.logical_id(synth.stack.monitoring.key), "Arn")
    synth.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )
    key = synth.resource(synth.stack.monitoring.key)["Properties"]
    assert key["EnableKeyRotation"] is True
    assert "cloudwatch.amazonaws.com" in json.dumps(key["KeyPolicy"])


def test_common_layer_leaves_out_local_only_code(synth: Synth) -> None:
    # Given a common layer source that holds the CLI, the local runner and stray bytecode
    layer = synth.resource(synth.stack.layers.common)["Properties"]
    asset = synth.asset_dir(layer["Content"]["S3Key"])
    # Then the layer has the package but none of those
    assert (asset / "python" / "comeback" / "schema.py").is_file()
    assert not (asset / "python" / "comeback" / "cli.py").exists()
    assert not (asset / "python" / "comeback" / "local").exists()
    assert not list(asset.rglob("__pycache__"))
    assert layer["CompatibleRuntimes"] == [f"python{PYTHON_VERSION}"]
    assert layer["CompatibleArchitectures"] == ["arm64"]


def test_deps_layer_is_the_built_folder_without_its_stamp(synth: Synth) -> None:
    layer = synth.resource(synth.stack.layers.deps)["Properties"]
    asset = synth.asset_dir(layer["Content"]["S3Key"])
    assert (asset / "python" / "pydantic").is_dir()
    assert (asset / "python" / "aws_lambda_powertools").is_dir()
    assert not (asset / STAMP_NAME).exists()


def test_a_missing_deps_layer_build_fails_with_the_command_to_run(
    sources: SourcePaths, tmp_path: Path
) -> None:
    # Given sources whose deps layer was never built
    unbuilt = SourcePaths(
        functions_dir=sources.functions_dir,
        common_layer_dir=sources.common_layer_dir,
        deps_layer_dir=tmp_path / "build",
    )
    # When the stack is built, then it stops and says how to build the layer
    with pytest.raises(MissingSourceError, match=r"scripts/build_deps_layer\.py"):
        ComebackStack(cdk.App(), "Unbuilt", sender_domain=TEST_SENDER_DOMAIN, sources=unbuilt)


def test_a_missing_handler_fails_naming_the_file(sources: SourcePaths, tmp_path: Path) -> None:
    without_functions = SourcePaths(
        functions_dir=tmp_path,
        common_layer_dir=sources.common_layer_dir,
        deps_layer_dir=sources.deps_layer_dir,
    )
    with pytest.raises(MissingSourceError, match=rf"{HANDLER_FILE} is missing"):
        ComebackStack(
            cdk.App(), "NoCode", sender_domain=TEST_SENDER_DOMAIN, sources=without_functions
        )


def test_the_sender_may_send_sms_and_read_the_vapid_keys_the_intake_serves(synth: Synth) -> None:
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"] for _, p in synth.of_type("AWS::IAM::Policy")
    ]
    sms = [s for statements in policies for s in statements if "sns:Publish" in s["Action"]]
    assert [sorted(s["Action"]) for s in sms] == [
        ["sns:CheckIfPhoneNumberIsOptedOut", "sns:Publish"]
    ]
    secret = ref(synth.logical_id(synth.stack.vapid_key.secret))
    readers = [
        statements
        for statements in policies
        for s in statements
        if secret in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        and "secretsmanager:GetSecretValue" in s["Action"]
    ]
    assert len(readers) == 2  # intake (public key) and sender (signing)
    assert synth.outputs["VapidSecretArn"]["Value"] == secret


def test_only_the_webhooks_function_reads_the_webhook_secrets(synth: Synth) -> None:
    secret = ref(synth.logical_id(synth.stack.api.webhook_secret))
    webhooks_role = synth.resource(synth.stack.functions["webhooks"])["Properties"]["Role"]
    readers = [
        policy["Properties"]["Roles"]
        for _, policy in synth.of_type("AWS::IAM::Policy")
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if secret in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        and "secretsmanager:GetSecretValue" in s["Action"]
    ]
    assert readers == [[ref(webhooks_role["Fn::GetAtt"][0])]]
    assert synth.outputs["WebhookSecretArn"]["Value"] == secret
