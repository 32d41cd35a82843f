"""The shop CLI against the embedded AWS, and what happens to an event that cannot be applied."""

import json

from comeback import wiring
from comeback.cli import main

from tests.support import profile_of


def test_create_shop_prints_keys_that_work_and_stores_only_digests(stack, capsys):
    # When a shop is created with the CLI against the stack's table
    assert (
        main(
            [
                "create-shop",
                "cli-shop",
                "--name",
                "CLI Shop",
                "--from-address",
                "Hello@Shop.Example.com",
                "--table",
                stack.aws.table_name,
                "--timers-table",
                stack.aws.timers_table_name,
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    write_key = next(
        line.split()[-1] for line in printed.splitlines() if line.startswith("write key:")
    )
    secret_key = next(
        line.split()[-1] for line in printed.splitlines() if line.startswith("secret key:")
    )
    # Then the write key authenticates tracking calls for that shop
    from tests.conftest import ShopClient

    client = ShopClient(keys=None, api_url=stack.api.url)
    status, _ = client.post("/v1/identify", {"userId": "cli-user"}, key=write_key)
    assert status == 200
    status, _ = client.post("/v1/identify", {"userId": "cli-user"}, key=secret_key)
    assert status == 200  # the secret key works too, for calls from the shop's backend
    status, _ = client.post("/v1/identify", {"userId": "cli-user"}, key=write_key + "x")
    assert status == 401
    stack.process_events()
    assert profile_of(stack, "cli-shop", "cli-user") is not None
    # And neither key is stored in clear
    dump = json.dumps(wiring.client("dynamodb").scan(TableName=stack.aws.table_name))
    assert write_key not in dump and secret_key not in dump
    shop = stack.store().get_shop("cli-shop")
    assert shop.settings.from_address == "hello@shop.example.com"


def test_a_poison_event_is_retried_then_dead_lettered_without_holding_up_the_others(stack, shop):
    sqs = wiring.client("sqs")
    sqs.send_message(QueueUrl=stack.aws.events_queue_url, MessageBody='{"not": "an event"}')
    shop.post("/v1/identify", {"userId": "fine"})
    result = stack.process_events()
    assert profile_of(stack, shop.shop_id, "fine") is not None
    assert result.failed_attempts == 5  # the queue's maxReceiveCount, then the DLQ
    assert stack.dead_letters()["events"] == 1
    sqs.purge_queue(QueueUrl=stack.aws.events_dlq_url)
