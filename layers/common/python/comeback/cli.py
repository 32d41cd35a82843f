"""The `comeback` command: the local demo, a local stack to play with, and shop administration."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from comeback.domain.deliverability import Deployed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="comeback", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="replay real CDNOW orders on a local stack")
    demo.add_argument(
        "--full",
        action="store_true",
        help="the full file (69,659 orders) instead of the 6,919-order sample",
    )
    demo.add_argument("--out", type=Path, default=Path("out"), help="report and outbox folder")
    demo.add_argument(
        "--no-progress", action="store_true", help="print no progress bar (for logs and CI)"
    )
    demo.add_argument(
        "--sweep-every-days",
        type=int,
        default=None,
        help="run the evening sweeps every N simulated days (default: 1; 7 with --full, where"
        " the embedded AWS's index queries slow down as the tables grow)",
    )

    local = commands.add_parser("local", help="run the stack locally for you to post events at")
    local.add_argument(
        "--port", type=int, default=8787, help="the local API's port (default: %(default)s)"
    )
    local.add_argument(
        "--tick-seconds",
        type=float,
        default=5.0,
        help="how often queues, sweeps and sends run (default: %(default)s)",
    )
    local.add_argument(
        "--no-quiet-hours",
        action="store_true",
        help="send marketing messages at any hour (default: not 21:00-08:00 UTC)",
    )

    shop = commands.add_parser("create-shop", help="create a shop in a deployed stack")
    shop.add_argument("shop_id")
    shop.add_argument("--name", required=True)
    shop.add_argument("--from-address", required=True)
    shop.add_argument("--site-url")
    where = shop.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the deployed stack's name (reads its table outputs)")
    where.add_argument("--table", help="the main table's name (stack output TableName)")
    shop.add_argument("--timers-table", help="with --table: stack output TimersTableName")

    shop_settings = commands.add_parser(
        "settings",
        help="show a shop's settings, or apply a JSON settings file to them (docs/settings.md)",
        description="Prints the shop's settings as JSON. With --apply, first applies the file "
        "as a patch (the settings it names change, the others stay; in `journeys` and "
        "`channel_order` each kind named is replaced whole). Exit status 2 when the file is "
        "unusable; nothing is changed then.",
    )
    shop_settings.add_argument("shop_id")
    settings_where = shop_settings.add_mutually_exclusive_group(required=True)
    settings_where.add_argument("--stack", help="the deployed stack's name (reads its outputs)")
    settings_where.add_argument("--table", help="the main table's name (stack output TableName)")
    shop_settings.add_argument("--apply", type=Path, help="a JSON file of settings to change")
    shop_settings.add_argument(
        "--show", action="store_true", help="print the settings (the default without --apply)"
    )

    vapid = commands.add_parser(
        "vapid-keys", help="create the web push (VAPID) key pair in a deployed stack's secret"
    )
    vapid.add_argument(
        "--subject",
        required=True,
        help="how push services reach you: mailto:you@your-domain or https://your-site",
    )
    vapid_where = vapid.add_mutually_exclusive_group(required=True)
    vapid_where.add_argument("--stack", help="the deployed stack's name (reads its outputs)")
    vapid_where.add_argument("--secret-id", help="the secret's ARN (stack output VapidSecretArn)")
    vapid.add_argument(
        "--replace",
        action="store_true",
        help="make a new pair even if one exists (every browser must subscribe again)",
    )

    hook = commands.add_parser(
        "webhook-secret", help="store a shop's Shopify or WooCommerce webhook secret"
    )
    hook.add_argument("shop_id")
    hook.add_argument("--platform", required=True, choices=("shopify", "woocommerce"))
    hook.add_argument(
        "--secret", help="the secret the platform gave you (omit to generate one, WooCommerce)"
    )
    hook_where = hook.add_mutually_exclusive_group(required=True)
    hook_where.add_argument("--stack", help="the deployed stack's name (reads its outputs)")
    hook_where.add_argument("--secret-id", help="the secret's ARN (stack output WebhookSecretArn)")

    doctor = commands.add_parser(
        "doctor",
        help="check a sender domain's DNS (DKIM, SPF, MAIL FROM, DMARC) and headers",
        description="Look up every DNS record the stack's email needs and say, for each, OK,"
        " MISSING, WRONG or UNKNOWN with the exact record to add. DKIM tokens come from"
        " --stack (its outputs), --from-ses or --dkim-tokens; with none, DKIM is reported as"
        " not checked (exit 1)."
        " --stack and --from-ses need AWS credentials. Exit status: 0 when every required"
        " check passes, 1 when one does not, 2 on a usage error. See docs/deploy.md.",
    )
    doctor.add_argument("domain", help="the sender domain, e.g. mail.yourshop.com")
    doctor.add_argument(
        "--nameserver",
        action="append",
        help="ask this DNS server (host or host:port; repeatable) instead of the system's",
    )
    doctor.add_argument("--dkim-tokens", help="the three Easy DKIM tokens, comma-separated")
    doctor.add_argument("--stack", help="a deployed stack's name: DKIM tokens, region, API URL")
    doctor.add_argument(
        "--from-ses", action="store_true", help="ask SES for the identity's DKIM tokens"
    )
    doctor.add_argument(
        "--region", help="the SES region (default: the stack's, AWS config, us-east-1)"
    )
    doctor.add_argument("--report-address", help="DMARC report address to recommend")
    doctor.add_argument("--eml", type=Path, help="check this received message's headers")
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")

    report = commands.add_parser(
        "report", help="write a shop's KPIs over a date range as one self-contained HTML page"
    )
    report.add_argument("--shop", required=True, help="the shop's id")
    report.add_argument("--from", dest="first", help="first day, YYYY-MM-DD (UTC)")
    report.add_argument(
        "--to", dest="last", help="last day, YYYY-MM-DD (default: 30 days from --from, or today)"
    )
    report.add_argument("--out", type=Path, default=Path("report.html"), help="the HTML file")
    report.add_argument("--json", type=Path, help="also write the figures as JSON here")
    report_where = report.add_mutually_exclusive_group()
    report_where.add_argument("--stack", help="the deployed stack's name (reads its outputs)")
    report_where.add_argument(
        "--table", help="the main table's name (default: $COMEBACK_TABLE_NAME, e.g. locally)"
    )

    args = parser.parse_args(argv)
    if args.command == "demo":
        from comeback.local.demo import DemoOptions, run

        report = run(
            DemoOptions(
                dataset="full" if args.full else "sample",
                out_dir=args.out,
                progress=not args.no_progress,
                sweep_every_days=args.sweep_every_days or (7 if args.full else 1),
            )
        )
        return (
            0
            if report["events_rejected"] == 0
            and not any(report["dead_letters"].values())
            and report["matches_raw_file"]
            else 1
        )
    if args.command == "local":
        from comeback.local.interactive import serve

        return serve(
            port=args.port, tick_seconds=args.tick_seconds, quiet_hours=not args.no_quiet_hours
        )
    if args.command == "create-shop":
        return _create_shop(args)
    if args.command == "settings":
        return _settings(args)
    if args.command == "vapid-keys":
        return _vapid_keys(args)
    if args.command == "webhook-secret":
        return _webhook_secret(args)
    if args.command == "doctor":
        return _doctor(args)
    if args.command == "report":
        return _report(args)
    return 2


def stack_outputs(stack_name: str, *, region: str | None = None) -> dict[str, str]:
    """A deployed stack's outputs (TableName, ApiUrl, ...), read with your AWS credentials."""
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region)
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def _report(args: argparse.Namespace) -> int:
    """Reads the table with your AWS credentials (or moto's, through AWS_ENDPOINT_URL)."""
    import json
    import os

    import boto3

    from comeback.adapters.kpi_source import KpiSource
    from comeback.clock import SystemClock
    from comeback.domain.kpis import kpis_as_json
    from comeback.domain.report_html import render_report
    from comeback.errors import ComebackError
    from comeback.services import reporting

    table = args.table or os.environ.get("COMEBACK_TABLE_NAME")
    if args.stack:
        outputs = stack_outputs(args.stack)
        table = outputs["TableName"]
    if not table:
        sys.stderr.write("report: name the table with --stack or --table\n")
        return 2
    now = SystemClock().now()
    source = KpiSource(boto3.client("dynamodb"), table)
    try:
        period = reporting.parse_range(args.first, args.last, now.date())
        kpis = reporting.shop_kpis(source, args.shop, period, now)
        shop = source.shop(args.shop)
    except ComebackError as exc:
        sys.stderr.write(f"report: {exc}\n")
        return 2
    assert shop is not None  # shop_kpis refuses an unknown shop
    page = render_report(
        kpis, shop_name=shop.name, currency=shop.settings.currency, generated_at=now
    )
    args.out.write_text(page, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(kpis_as_json(kpis), indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(
        f"{shop.name}: {period.first} to {period.last}, {kpis.orders:,} orders, revenue "
        f"{shop.settings.currency} {kpis.revenue:,.2f}; report written to {args.out}\n"
    )
    return 0


def _vapid_keys(args: argparse.Namespace) -> int:
    import boto3

    from comeback.domain.push import check_vapid_subject
    from comeback.services.vapid import install_vapid_keys

    try:
        subject = check_vapid_subject(args.subject)
    except ValueError as exc:
        sys.stderr.write(f"--subject: {exc}\n")
        return 2
    secret_id = args.secret_id
    if args.stack:
        outputs = stack_outputs(args.stack)
        secret_id = outputs["VapidSecretArn"]
    result = install_vapid_keys(
        boto3.client("secretsmanager"), secret_id, subject, replace=args.replace
    )
    state = "created" if result.created else "already there, kept"
    sys.stdout.write(
        f"VAPID key pair {state}.\npublic key (applicationServerKey for your site): "
        f"{result.keys.public_key}\n"
    )
    return 0


def _webhook_secret(args: argparse.Namespace) -> int:
    import boto3

    from comeback.services.shops import valid_shop_id
    from comeback.services.webhook_secrets import install_webhook_secret

    if not valid_shop_id(args.shop_id):
        sys.stderr.write("shop id: 2-63 lower-case letters, digits and dashes\n")
        return 2
    secret_id, api_url = args.secret_id, "<ApiUrl>"
    if args.stack:
        outputs = stack_outputs(args.stack)
        secret_id, api_url = outputs["WebhookSecretArn"], outputs["ApiUrl"].rstrip("/")
    try:
        result = install_webhook_secret(
            boto3.client("secretsmanager"), secret_id, args.shop_id, args.platform, args.secret
        )
    except ValueError as exc:
        sys.stderr.write(f"webhook-secret: {exc}\n")
        return 2
    sys.stdout.write(f"{args.platform} webhook secret stored for {args.shop_id}.\n")
    sys.stdout.write(f"delivery URL to register: {api_url}{result.path}\n")
    if result.generated:
        sys.stdout.write(
            f"secret (paste it into the webhook's Secret field; shown once): {result.secret}\n"
        )
    return 0


def _create_shop(args: argparse.Namespace) -> int:
    import boto3

    from comeback.adapters.store import Store
    from comeback.clock import SystemClock
    from comeback.domain.contact import normalise_email
    from comeback.models.shop import ShopSettings
    from comeback.services.shops import create_shop

    table, timers_table = args.table, args.timers_table
    if args.stack:
        outputs = stack_outputs(args.stack)
        table, timers_table = outputs["TableName"], outputs["TimersTableName"]
    if not timers_table:
        sys.stderr.write("--timers-table is needed with --table\n")
        return 2
    keys = create_shop(
        Store(boto3.client("dynamodb"), table, timers_table),
        shop_id=args.shop_id,
        name=args.name,
        now=SystemClock().now(),
        settings=ShopSettings(
            from_address=normalise_email(args.from_address), site_url=args.site_url
        ),
    )
    sys.stdout.write(
        f"shop:       {keys.shop_id}\nwrite key:  {keys.write_key}\n"
        f"secret key: {keys.secret_key}\n"
        "The keys are stored only as hashes: keep them now.\n"
    )
    return 0


def _settings(args: argparse.Namespace) -> int:
    """Reads and changes the shop item with your AWS credentials (or moto's, through
    AWS_ENDPOINT_URL), through the same service as `PATCH /v1/settings`."""
    import json

    import boto3

    from comeback.adapters.shop_records import ShopRecords
    from comeback.clock import SystemClock
    from comeback.errors import ComebackError
    from comeback.services import shop_settings
    from comeback.services.shops import valid_shop_id

    if not valid_shop_id(args.shop_id):
        sys.stderr.write("shop id: 2-63 lower-case letters, digits and dashes\n")
        return 2
    table = args.table
    if args.stack:
        outputs = stack_outputs(args.stack)
        table = outputs["TableName"]
    records = ShopRecords(boto3.client("dynamodb"), table)
    try:
        if args.apply is None:
            current = shop_settings.read_settings(records, args.shop_id)
        else:
            try:
                text = args.apply.read_bytes()
            except OSError as exc:
                sys.stderr.write(f"settings: cannot read {args.apply}: {exc.strerror}\n")
                return 2
            changes = shop_settings.parse_changes(text)
            change = shop_settings.apply_change(records, args.shop_id, changes, SystemClock().now())
            current = change.settings.model_dump(mode="json")
            changed = ", ".join(change.changed) or "nothing (already so)"
            sys.stderr.write(f"settings of {args.shop_id}: changed {changed}\n")
    except ComebackError as exc:
        where = f"{args.apply}: " if args.apply is not None else ""
        sys.stderr.write(f"settings: {where}{getattr(exc, 'message', None) or exc}\n")
        return 2
    sys.stdout.write(json.dumps(current, indent=2) + "\n")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    import json
    from email import message_from_binary_file, policy

    from comeback.adapters.dns_lookup import DnsLookup, parse_nameserver
    from comeback.domain import deliverability as dv

    try:
        nameservers = [parse_nameserver(text) for text in args.nameserver or []]
        tokens = args.dkim_tokens.split(",") if args.dkim_tokens else None
        found = _doctor_from_aws(args) if args.stack or args.from_ses else dv.Deployed()
        sender = dv.SenderDomain(
            domain=args.domain,
            region=args.region or found.region or _default_region(),
            dkim_tokens=tokens or found.tokens,
            dmarc_report_address=args.report_address or found.report_address,
        )
    except ValueError as exc:
        sys.stderr.write(f"doctor: {exc}\n")
        return 2
    findings = dv.check_dns(sender, DnsLookup(nameservers))
    if args.eml:
        with args.eml.open("rb") as file:
            message = message_from_binary_file(file, policy=policy.default)
        findings += dv.check_unsubscribe_headers(message, source=args.eml.name)
        findings.append(dv.check_unsubscribe_signed(message, source=args.eml.name))
    else:
        base_url = found.api_url or "https://api.invalid"
        sample = dv.sample_marketing_message(sender, public_base_url=base_url)
        findings += dv.check_unsubscribe_headers(sample, source="a sample win-back email")
    if args.json:
        body = {"domain": sender.domain, "region": sender.region, "passed": dv.passed(findings)}
        body["findings"] = [dv.finding_as_dict(finding) for finding in findings]
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    else:
        where = ", ".join(args.nameserver) if args.nameserver else "the system resolver"
        sys.stdout.write(
            f"comeback doctor: {sender.domain} (SES region {sender.region}; DNS: {where})\n"
            + "\n".join(dv.report_lines(findings))
            + "\n"
        )
    return 0 if dv.passed(findings) else 1


def _default_region() -> str:
    import boto3

    return boto3.session.Session().region_name or "us-east-1"


def _doctor_from_aws(args: argparse.Namespace) -> Deployed:
    """DKIM tokens, region and API URL from a deployed stack's outputs and/or SES."""
    import dataclasses

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from comeback.domain.deliverability import Deployed, read_stack_outputs

    found = Deployed()
    try:
        if args.stack:
            outputs = stack_outputs(args.stack, region=args.region)
            found = read_stack_outputs(outputs)
        if args.from_ses or (args.stack and not found.tokens):
            sesv2 = boto3.client("sesv2", region_name=args.region or found.region)
            identity = sesv2.get_email_identity(EmailIdentity=args.domain)
            # NOTE: moto's SES v2 leaves Tokens out; real SES lists the three Easy DKIM tokens.
            tokens = identity.get("DkimAttributes", {}).get("Tokens") or []
            if tokens:
                found = dataclasses.replace(found, tokens=tuple(tokens))
    except (BotoCoreError, ClientError) as exc:
        raise ValueError(f"could not read the stack or SES identity: {exc}") from exc
    return found


if __name__ == "__main__":
    raise SystemExit(main())
