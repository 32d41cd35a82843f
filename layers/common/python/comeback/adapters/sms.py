"""Sending text messages through Amazon SNS (direct publish to a phone number).

SNS keeps its own opt-out list per account (people who replied STOP) and does not deliver to
a number on it, so the sender asks first, and can record a yes as a withdrawal of consent,
instead of paying for a publish that goes nowhere.
"""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from comeback.adapters.email import DeliveryUnknown, PermanentSendError, TransientSendError

SMS_TYPE = "AWS.SNS.SMS.SMSType"
SENDER_ID = "AWS.SNS.SMS.SenderID"
ORIGINATION_NUMBER = "AWS.MM.SMS.OriginationNumber"
TRANSACTIONAL = "Transactional"
PROMOTIONAL = "Promotional"

# SNS answers that retrying later can fix; anything else (a malformed number, an opted-out
# phone, a missing permission) would fail the same way again.
_TRANSIENT = frozenset(
    {
        "Throttled",  # what SNS itself names it (ThrottledException, HTTP 429)
        "Throttling",
        "ThrottlingException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSThrottling",
    }
)
# The request never reached SNS, so nothing went out.
_NOT_SENT = (EndpointConnectionError, ConnectTimeoutError)
# The answer was lost: harmless to repeat for a question, not for a send (it may have gone).
_ANSWER_LOST = (ReadTimeoutError, ConnectionClosedError)


class SmsSender(Protocol):
    """What the sending service needs from an SMS channel; tests pass small fakes."""

    def send(self, phone_e164: str, text: str, *, transactional: bool) -> str: ...

    def is_opted_out(self, phone_e164: str) -> bool: ...


class SnsSms:
    """SMS through an SNS client (boto3 `sns`), built by the caller so tests can point it at
    moto. Raises TransientSendError only when the message certainly did not go out, and
    PermanentSendError when SNS refused it; a timeout after the request was sent propagates
    unchanged, so the caller keeps its reservation rather than risk sending twice."""

    def __init__(
        self,
        client: Any,
        *,
        sender_id: str | None = None,
        origination_number: str | None = None,
    ) -> None:
        self._client = client
        self._sender_id = sender_id
        self._origination_number = origination_number

    def send(self, phone_e164: str, text: str, *, transactional: bool) -> str:
        """Publishes `text` to the number and returns SNS's MessageId.

        SNS routes Transactional messages (a receipt, a code) for reliability and Promotional
        ones (reminders, win-backs) at lower cost, and some countries treat the two
        differently, so the caller says which one this is rather than the account default.
        """
        attributes = {SMS_TYPE: _string(TRANSACTIONAL if transactional else PROMOTIONAL)}
        if self._sender_id:
            attributes[SENDER_ID] = _string(self._sender_id)
        if self._origination_number:
            attributes[ORIGINATION_NUMBER] = _string(self._origination_number)
        try:
            response = self._client.publish(
                PhoneNumber=phone_e164, Message=text, MessageAttributes=attributes
            )
        except _NOT_SENT as exc:
            raise TransientSendError("SNS unreachable") from exc
        except _ANSWER_LOST as exc:
            raise DeliveryUnknown("SNS did not answer") from exc
        except ClientError as exc:
            raise _mapped(exc) from exc
        return response["MessageId"]

    def is_opted_out(self, phone_e164: str) -> bool:
        """True when the person replied STOP (or otherwise opted out) to this account's SMS."""
        try:
            response = self._client.check_if_phone_number_is_opted_out(phoneNumber=phone_e164)
        except (*_NOT_SENT, *_ANSWER_LOST) as exc:
            raise TransientSendError("SNS unreachable") from exc
        except ClientError as exc:
            raise _mapped(exc) from exc
        return bool(response["isOptedOut"])


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def _mapped(exc: ClientError) -> TransientSendError | PermanentSendError:
    """The domain error for an SNS refusal; only the error code is kept, never the request
    (it holds the phone number)."""
    code = exc.response.get("Error", {}).get("Code", "Unknown")
    if code in _TRANSIENT:
        return TransientSendError(code)
    return PermanentSendError(code)
