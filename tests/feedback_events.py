"""SES notifications shaped as SES publishes them (event publishing through a configuration
set, and the older identity notifications), for the feedback tests."""

from __future__ import annotations

import copy
import json
from typing import Any

SENT_AT = "2024-05-01T09:00:00.000Z"
BOUNCED_AT = "2024-05-01T09:00:03.512Z"
CONFIGURATION_SET = "comeback"


def _mail(recipients: list[str], tags: dict[str, list[str]] | None) -> dict[str, Any]:
    return {
        "timestamp": SENT_AT,
        "source": "Test Shop <hello@shop.example.com>",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/shop.example.com",
        "sendingAccountId": "123456789012",
        "messageId": "0100018f3a1e7c4d-6b0f1d2e-3c4b-4a5d-9e8f-7a6b5c4d3e2f-000000",
        "destination": recipients,
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": "Test Shop <hello@shop.example.com>"},
            {"name": "To", "value": ", ".join(recipients)},
            {"name": "Subject", "value": "You left something in your cart"},
        ],
        "commonHeaders": {
            "from": ["Test Shop <hello@shop.example.com>"],
            "to": recipients,
            "messageId": "0100018f3a1e7c4d-6b0f1d2e-3c4b-4a5d-9e8f-7a6b5c4d3e2f-000000",
            "subject": "You left something in your cart",
        },
        "tags": {
            "ses:configuration-set": [CONFIGURATION_SET],
            "ses:source-ip": ["192.0.2.10"],
            "ses:from-domain": ["shop.example.com"],
            "ses:caller-identity": ["comeback-sender"],
            **(tags or {}),
        },
    }


def shop_tags(shop_id: str, kind: str = "cart_recovery") -> dict[str, list[str]]:
    """The tags as SES reports them: each tag's values in a list."""
    return {"shop": [shop_id], "kind": [kind]}


def bounce(
    recipients: list[str],
    *,
    bounce_type: str = "Permanent",
    sub_type: str = "General",
    tags: dict[str, list[str]] | None = None,
    timestamp: str = BOUNCED_AT,
) -> dict[str, Any]:
    return {
        "eventType": "Bounce",
        "bounce": {
            "feedbackId": "0100018f3a1e8a11-2f4e6c1a-7b3d-4e2f-8a9b-1c2d3e4f5a6b-000000",
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
                for address in recipients
            ],
            "timestamp": timestamp,
            "reportingMTA": "dns; a8-50.smtp-out.amazonses.com",
        },
        "mail": _mail(recipients, tags),
    }


def complaint(
    recipients: list[str],
    *,
    feedback_type: str = "abuse",
    tags: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    return {
        "eventType": "Complaint",
        "complaint": {
            "feedbackId": "0100018f3a2b9c88-5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f-000000",
            "complainedRecipients": [{"emailAddress": address} for address in recipients],
            "timestamp": "2024-05-02T18:30:00.000Z",
            "userAgent": "Mozilla/5.0 (compatible; feedback-loop)",
            "complaintFeedbackType": feedback_type,
            "arrivalDate": "2024-05-02T18:29:58.000Z",
        },
        "mail": _mail(recipients, tags),
    }


def as_identity_notification(event: dict[str, Any]) -> dict[str, Any]:
    """The older identity-notification form of the same event: `notificationType`."""
    older = copy.deepcopy(event)
    older["notificationType"] = older.pop("eventType")
    return older


def sns_event(*messages: str) -> dict[str, Any]:
    """A Lambda event from an SNS subscription, one record per message."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": (
                    "arn:aws:sns:us-east-1:123456789012:comeback-feedback:"
                    "2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
                ),
                "Sns": {
                    "Type": "Notification",
                    "MessageId": f"95df01b4-ee98-5cb9-9903-4c221d41eb5{number}",
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:comeback-feedback",
                    "Subject": None,
                    "Message": message,
                    "Timestamp": "2024-05-01T09:00:04.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
            for number, message in enumerate(messages)
        ]
    }


def text(event: dict[str, Any]) -> str:
    return json.dumps(event)
