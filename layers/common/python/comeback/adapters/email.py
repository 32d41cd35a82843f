"""Sending email through Amazon SES (v2 API, raw MIME so our own headers go out as written)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any, Protocol

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

# SES answers that retrying later can fix; anything else is final for that message.
_TRANSIENT = frozenset(
    {
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "LimitExceededException",
        "ServiceUnavailable",
        "InternalFailure",
        "SendingPausedException",
    }
)


class TransientSendError(Exception):
    pass


class PermanentSendError(Exception):
    pass


class DeliveryUnknown(Exception):
    """The request went out and no answer came back: the provider may have the message, so it
    is neither retried nor sent by another channel (at most once)."""


class Mailer(Protocol):
    def send(
        self,
        message: EmailMessage,
        *,
        sender: str,
        recipient: str,
        tags: dict[str, str] | None = None,
    ) -> str: ...


class SesMailer:
    def __init__(self, client: Any, configuration_set: str | None) -> None:
        self._client = client
        self._configuration_set = configuration_set

    def send(
        self,
        message: EmailMessage,
        *,
        sender: str,
        recipient: str,
        tags: dict[str, str] | None = None,
    ) -> str:
        """Tags travel with SES's bounce and complaint events: `shop` tells the feedback
        handler whose suppression list an address goes on."""
        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": message.as_bytes()}},
        }
        if tags:
            request["EmailTags"] = [{"Name": k, "Value": v} for k, v in tags.items()]
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            return self._client.send_email(**request)["MessageId"]
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            raise TransientSendError("SES unreachable") from exc
        except (ReadTimeoutError, ConnectionClosedError) as exc:
            raise DeliveryUnknown("SES did not answer") from exc
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in _TRANSIENT:
                raise TransientSendError(code) from exc
            raise PermanentSendError(code) from exc
