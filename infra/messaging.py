"""Email sending: the SES domain identity and configuration set, the signing key, the sender."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from comeback.domain.deliverability import (
    DMARC_REPORT_LOCAL_PART,
    MAIL_FROM_MX_PRIORITY,
    MAIL_FROM_SUBDOMAIN,
    SES_SPF_RECORD,
    dmarc_record,
)
from comeback.settings import SenderSettings
from constructs import Construct

from infra.config import ConfigError
from infra.lambdas import ComebackFunction, FunctionDefaults, settings_environment
from infra.nag import acknowledge
from infra.queues import WorkQueue, consumer_timeout
from infra.storage import Storage

SIGNING_KEY_LENGTH = 64
# Bounces come back to `MAIL_FROM_SUBDOMAIN.<domain>` (`bounce.`), so the From domain's own MX
# records stay untouched; the names come from the module `comeback doctor` checks them with.
# The From address of shops that set none of their own.
DEFAULT_FROM_LOCAL_PART = "no-reply"
SPF_FOR_SES = f'"{SES_SPF_RECORD}"'
# Where DMARC aggregate reports go unless `-c dmarcReportAddress=...` says otherwise: an address
# at the sender domain needs no extra authorisation record (RFC 7489 §7.1).
_DMARC_REPORT_ADDRESS = re.compile(r"^[^@\s;,!]+@(?:[a-z0-9-]+\.)+[a-z0-9-]+$")

BATCH_SIZE = 10
MAX_BATCHING_WINDOW_SECONDS = 1
# The SQS minimum: keeps the send rate near SES's default quota (14 messages a second), and
# a throttled message simply comes back as a batch item failure.
MAX_CONCURRENCY = 2
SES_SEND_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")


@dataclass(frozen=True)
class DnsRecord:
    """A record the domain's owner must add before SES verifies the identity."""

    name: str
    type: str
    value: str

    def __str__(self) -> str:
        return f"{self.name} {self.type} {self.value}"


class SigningKey(Construct):
    """The HMAC key that signs unsubscribe (and other one-click) links."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description="Comeback HMAC key for signed links (unsubscribe tokens)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=SIGNING_KEY_LENGTH,
                exclude_punctuation=True,
                include_space=False,
            ),
        )
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            "Rotating this HMAC key would break every unsubscribe link already sent, since "
            "tokens are verified against the current key only, and those links must keep "
            "working. The key never leaves Secrets Manager and only the sender and unsubscribe "
            "roles may read it.",
        )


class VapidSecret(Construct):
    """Holds the web push (VAPID) key pair. CloudFormation cannot make an EC key pair, so the
    secret starts as a random placeholder and `comeback vapid-keys` writes the pair once;
    until then push is off and messages fall through to the next channel."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description="Comeback web push VAPID key pair (JSON), written by `comeback vapid-keys`",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=32, exclude_punctuation=True, include_space=False
            ),
        )
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            "Rotating the VAPID key pair would orphan every browser subscription, which is tied "
            "to the public key the site subscribed with; browsers would have to subscribe again. "
            "Only the sender and intake roles may read it.",
        )


# Sending SMS publishes to a phone number, which IAM can only express as resource "*".
SMS_ACTIONS = ("sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut")


class Messaging(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        sender_domain: str,
        storage: Storage,
        send: WorkQueue,
        signing_secret: secretsmanager.ISecret,
        vapid_secret: secretsmanager.ISecret,
        public_base_url: str,
        defaults: FunctionDefaults,
        dmarc_report_address: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        report_address = dmarc_report_address or f"{DMARC_REPORT_LOCAL_PART}@{sender_domain}"
        if not _DMARC_REPORT_ADDRESS.match(report_address.lower()):
            raise ConfigError(f"The DMARC report address {report_address!r} is not an address.")
        dmarc = dmarc_record(sender_domain, report_address)
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            reputation_metrics=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            sending_enabled=True,
        )
        mail_from_domain = f"{MAIL_FROM_SUBDOMAIN}.{sender_domain}"
        # Any address at the verified domain identity may send; shops may set their own.
        self.default_from_address = f"{DEFAULT_FROM_LOCAL_PART}@{sender_domain}"
        self.identity = ses.EmailIdentity(
            self,
            "Identity",
            identity=ses.Identity.domain(sender_domain),
            configuration_set=self.configuration_set,
            dkim_identity=ses.DkimIdentity.easy_dkim(ses.EasyDkimSigningKeyLength.RSA_2048_BIT),
            mail_from_domain=mail_from_domain,
            mail_from_behavior_on_mx_failure=ses.MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
        )

        region = Stack.of(self).region
        # Named for the stack outputs that tell the domain's owner what to add.
        self.dns_records: dict[str, DnsRecord] = {
            **{
                f"Dkim{number}": DnsRecord(record.name, "CNAME", record.value)
                for number, record in enumerate(self.identity.dkim_records, start=1)
            },
            "MailFromMx": DnsRecord(
                mail_from_domain,
                "MX",
                f"{MAIL_FROM_MX_PRIORITY} feedback-smtp.{region}.amazonses.com",
            ),
            "MailFromSpf": DnsRecord(mail_from_domain, "TXT", SPF_FOR_SES),
            # Not needed by SES, but expected by mailbox providers: start with p=none.
            "Dmarc": DnsRecord(dmarc.name, "TXT", f'"{dmarc.value}"'),
        }

        self.sender = ComebackFunction(
            self,
            "Sender",
            name="sender",
            defaults=defaults,
            description="Checks consent, caps and quiet hours, then sends each message job",
            timeout=consumer_timeout(send.spec),
            environment=settings_environment(
                SenderSettings,
                **storage.table_names,
                signing_secret_arn=signing_secret.secret_arn,
                public_base_url=public_base_url,
                ses_configuration_set=self.configuration_set.configuration_set_name,
                default_from_address=self.default_from_address,
                send_queue_url=send.queue.queue_url,
                vapid_secret_arn=vapid_secret.secret_arn,
            ),
        )
        sender = self.sender.function
        vapid_secret.grant_read(sender)
        sms_policy = iam.Policy(
            self,
            "SmsPolicy",
            statements=[iam.PolicyStatement(actions=list(SMS_ACTIONS), resources=["*"])],
        )
        sender.role.attach_inline_policy(sms_policy)  # type: ignore[union-attr]
        acknowledge(
            sms_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "SNS authorizes SMS to a phone number (Publish with PhoneNumber) and the opt-out "
            "check only on resource '*': there is no topic ARN to scope them to. The sender "
            "publishes only to numbers of consenting customers, checked before each send.",
        )
        # Writes send records and caps (main table) and settles the timers it sends for.
        storage.grant(storage.table, self.sender, write=True)
        storage.grant(storage.timers_table, self.sender, write=True)
        signing_secret.grant_read(sender)
        self.identity.grant(sender, *SES_SEND_ACTIONS)
        # Sending through a configuration set is authorized on the set as well as the identity.
        iam.Grant.add_to_principal(
            grantee=sender,
            actions=list(SES_SEND_ACTIONS),
            resource_arns=[
                Stack.of(self).format_arn(
                    service="ses",
                    resource="configuration-set",
                    resource_name=self.configuration_set.configuration_set_name,
                )
            ],
        )
        sender.add_event_source(
            event_sources.SqsEventSource(
                send.queue,
                batch_size=BATCH_SIZE,
                max_batching_window=Duration.seconds(MAX_BATCHING_WINDOW_SECONDS),
                max_concurrency=MAX_CONCURRENCY,
                report_batch_item_failures=True,
            )
        )
