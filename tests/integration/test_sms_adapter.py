"""Text messages through SNS: moto's server on 127.0.0.1 for what it emulates (publish to a
phone number, the opt-out check, its own refusals), a stubbed client for SNS's error codes.

moto records each SMS (number and text) but not its attributes, never refuses a publish to
an opted-out number, and reports a number as opted out exactly when it ends in "99".
"""

import socket

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber
from comeback.adapters.email import DeliveryUnknown, PermanentSendError, TransientSendError
from comeback.adapters.sms import SnsSms
from comeback.domain.phone import normalise_phone
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.sns.models import sns_backends

REGION = "us-east-1"
LONDON = "+442079460958"
OPTED_OUT = "+442079460999"  # moto: any number ending in 99 has opted out
FAST_FAIL = Config(
    connect_timeout=0.5, read_timeout=0.5, retries={"max_attempts": 1, "mode": "standard"}
)


def _client(endpoint_url: str, config: Config | None = None):
    return boto3.client(
        "sns",
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def sns(moto_url):
    return _client(moto_url)


def _recorded(message_id: str) -> tuple[str, str]:
    """(phone, text) moto's backend stored for a publish; the threaded server shares it."""
    return sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages[message_id]


def test_a_sent_message_reaches_sns_for_that_number(sns):
    # Given the adapter on moto's SNS
    sender = SnsSms(sns, sender_id="ACME")
    # When a message is sent to a normalised number
    phone = normalise_phone("020 7946 0958", "GB")
    message_id = sender.send(
        phone, "Your cart is waiting. Reply STOP to opt out", transactional=False
    )
    # Then SNS gave it an id and holds that text for that number
    assert message_id
    assert _recorded(message_id) == (LONDON, "Your cart is waiting. Reply STOP to opt out")


def test_each_send_is_its_own_message(sns):
    sender = SnsSms(sns, origination_number="+12015550123")
    first = sender.send(LONDON, "one", transactional=True)
    second = sender.send(LONDON, "one", transactional=True)
    assert first != second
    assert _recorded(first) == _recorded(second) == (LONDON, "one")


def test_the_opt_out_list_is_asked(sns):
    sender = SnsSms(sns)
    assert sender.is_opted_out(OPTED_OUT) is True
    assert sender.is_opted_out(LONDON) is False


def test_a_number_sns_refuses_is_a_permanent_failure(sns):
    # Given a number that is not E.164 (the adapter does not second-guess SNS)
    sender = SnsSms(sns)
    # When sent to or asked about, Then SNS's InvalidParameter is final, not retried
    with pytest.raises(PermanentSendError, match=r"^InvalidParameter$"):
        sender.send("020 7946 0958", "hello", transactional=True)
    with pytest.raises(PermanentSendError, match=r"^InvalidParameter$"):
        sender.is_opted_out("020 7946 0958")


def test_a_message_over_the_sms_limit_is_a_permanent_failure(sns):
    with pytest.raises(PermanentSendError, match=r"^InvalidParameter$"):
        SnsSms(sns).send(LONDON, "x" * 1601, transactional=True)


def _stubbed(moto_url, method, code, **kwargs):
    """A real client whose next `method` call answers with SNS error `code`."""
    client = _client(moto_url)
    stubber = Stubber(client)
    stubber.add_client_error(method, service_error_code=code, http_status_code=400, **kwargs)
    stubber.activate()
    return client, stubber


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("Throttled", TransientSendError),
        ("Throttling", TransientSendError),
        ("ThrottlingException", TransientSendError),
        ("InternalError", TransientSendError),
        ("InternalFailure", TransientSendError),
        ("ServiceUnavailable", TransientSendError),
        ("KMSThrottling", TransientSendError),
        ("InvalidParameter", PermanentSendError),
        ("ParameterValueInvalid", PermanentSendError),
        ("OptedOut", PermanentSendError),
        ("AuthorizationError", PermanentSendError),
        ("KMSAccessDenied", PermanentSendError),
        ("EndpointDisabled", PermanentSendError),
        ("SomethingNew", PermanentSendError),
    ],
)
def test_sns_error_codes_map_to_retry_or_give_up(moto_url, code, error):
    # Given SNS answering a publish with this error code
    client, stubber = _stubbed(moto_url, "publish", code)
    # When a message is sent, Then the error says whether a retry can help, by code only
    with pytest.raises(error) as caught:
        SnsSms(client).send(LONDON, "hello", transactional=True)
    assert str(caught.value) == code
    assert LONDON not in str(caught.value)
    stubber.assert_no_pending_responses()

    # And the opt-out check maps the same way
    client, stubber = _stubbed(moto_url, "check_if_phone_number_is_opted_out", code)
    with pytest.raises(error, match=f"^{code}$"):
        SnsSms(client).is_opted_out(LONDON)


@pytest.mark.parametrize(
    ("transactional", "sms_type"), [(True, "Transactional"), (False, "Promotional")]
)
def test_the_request_carries_the_sms_type_and_sender_settings(moto_url, transactional, sms_type):
    # Given a client that checks the exact request (moto does not keep SMS attributes)
    client = _client(moto_url)
    stubber = Stubber(client)
    attribute = {"DataType": "String"}
    stubber.add_response(
        "publish",
        {"MessageId": "m-1"},
        {
            "PhoneNumber": LONDON,
            "Message": "hello",
            "MessageAttributes": {
                "AWS.SNS.SMS.SMSType": {**attribute, "StringValue": sms_type},
                "AWS.SNS.SMS.SenderID": {**attribute, "StringValue": "ACME"},
                "AWS.MM.SMS.OriginationNumber": {**attribute, "StringValue": "+12015550123"},
            },
        },
    )
    stubber.add_response(
        "publish",
        {"MessageId": "m-2"},
        {
            "PhoneNumber": LONDON,
            "Message": "hello",
            "MessageAttributes": {"AWS.SNS.SMS.SMSType": {**attribute, "StringValue": sms_type}},
        },
    )
    with stubber:
        # When sent with and without a sender id and origination number
        full = SnsSms(client, sender_id="ACME", origination_number="+12015550123")
        bare = SnsSms(client)
        # Then each request carries exactly the attributes asked for
        assert full.send(LONDON, "hello", transactional=transactional) == "m-1"
        assert bare.send(LONDON, "hello", transactional=transactional) == "m-2"
        stubber.assert_no_pending_responses()


def test_sns_out_of_reach_is_transient():
    # Given an address on 127.0.0.1 where nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = SnsSms(_client(f"http://127.0.0.1:{port}", FAST_FAIL))
    # When sending or asking, Then the request never left, so a retry is safe
    with pytest.raises(TransientSendError, match="unreachable"):
        sender.send(LONDON, "hello", transactional=True)
    with pytest.raises(TransientSendError, match="unreachable"):
        sender.is_opted_out(LONDON)


def test_a_send_whose_answer_is_lost_is_not_called_transient():
    # Given a server on 127.0.0.1 that takes the request and never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        sender = SnsSms(_client(f"http://127.0.0.1:{port}", FAST_FAIL))
        # When sending, Then delivery is unknown: SNS may have sent it, so no blind retry
        with pytest.raises(DeliveryUnknown) as unknown:
            sender.send(LONDON, "hello", transactional=True)
        assert isinstance(unknown.value.__cause__, ReadTimeoutError)
        # While asking the opt-out list again is harmless, so that is transient
        with pytest.raises(TransientSendError):
            sender.is_opted_out(LONDON)
