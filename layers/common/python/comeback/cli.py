"""The `comeback` command: the local demo, a local stack to play with, and shop administration."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
    demo.add_argument("--no-progress", action="store_true")

    local = commands.add_parser("local", help="run the stack locally for you to post events at")
    local.add_argument("--port", type=int, default=8787)
    local.add_argument("--tick-seconds", type=float, default=5.0)

    shop = commands.add_parser("create-shop", help="create a shop in a deployed stack")
    shop.add_argument("shop_id")
    shop.add_argument("--name", required=True)
    shop.add_argument("--from-address", required=True)
    shop.add_argument("--site-url")
    where = shop.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the deployed stack's name (reads its table outputs)")
    where.add_argument("--table", help="the main table's name (stack output TableName)")
    shop.add_argument("--timers-table", help="with --table: stack output TimersTableName")

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

    args = parser.parse_args(argv)
    if args.command == "demo":
        from comeback.local.demo import DemoOptions, run

        report = run(
            DemoOptions(
                dataset="full" if args.full else "sample",
                out_dir=args.out,
                progress=not args.no_progress,
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

        return serve(port=args.port, tick_seconds=args.tick_seconds)
    if args.command == "create-shop":
        return _create_shop(args)
    if args.command == "vapid-keys":
        return _vapid_keys(args)
    return 2


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
        stack = boto3.client("cloudformation").describe_stacks(StackName=args.stack)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0]["Outputs"]}
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


def _create_shop(args: argparse.Namespace) -> int:
    import boto3

    from comeback.adapters.store import Store
    from comeback.clock import SystemClock
    from comeback.domain.contact import normalise_email
    from comeback.models.shop import ShopSettings
    from comeback.services.shops import create_shop

    table, timers_table = args.table, args.timers_table
    if args.stack:
        stack = boto3.client("cloudformation").describe_stacks(StackName=args.stack)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0]["Outputs"]}
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


if __name__ == "__main__":
    raise SystemExit(main())
