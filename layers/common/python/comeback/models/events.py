"""Wire models of the Segment tracking API (https://segment.com/docs/connections/spec/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

EventType = Literal["track", "identify", "page", "screen", "group", "alias"]

MAX_ID_LENGTH = 256
MAX_EVENT_NAME_LENGTH = 200


def _coerce_id(value: Any) -> Any:
    # Segment SDKs send numeric ids as numbers; the spec treats ids as strings.
    if isinstance(value, bool):
        raise ValueError("must be a string")
    if isinstance(value, int | float):
        return str(value)
    return value


class SegmentMessage(BaseModel):
    """One call of the tracking API; unknown fields are kept so nothing a client sent is lost."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: EventType
    message_id: str | None = Field(default=None, alias="messageId", max_length=MAX_ID_LENGTH)
    user_id: str | None = Field(default=None, alias="userId", max_length=MAX_ID_LENGTH)
    anonymous_id: str | None = Field(default=None, alias="anonymousId", max_length=MAX_ID_LENGTH)
    previous_id: str | None = Field(default=None, alias="previousId", max_length=MAX_ID_LENGTH)
    group_id: str | None = Field(default=None, alias="groupId", max_length=MAX_ID_LENGTH)
    event: str | None = Field(default=None, max_length=MAX_EVENT_NAME_LENGTH)
    name: str | None = Field(default=None, max_length=MAX_EVENT_NAME_LENGTH)
    category: str | None = Field(default=None, max_length=MAX_EVENT_NAME_LENGTH)
    timestamp: datetime | None = None
    sent_at: datetime | None = Field(default=None, alias="sentAt")
    original_timestamp: datetime | None = Field(default=None, alias="originalTimestamp")
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    integrations: dict[str, Any] = Field(default_factory=dict)

    @field_validator("user_id", "anonymous_id", "previous_id", "group_id", mode="before")
    @classmethod
    def _ids_are_strings(cls, value: Any) -> Any:
        return _coerce_id(value)

    @field_validator("user_id", "anonymous_id", "previous_id", "group_id", "message_id")
    @classmethod
    def _blank_is_absent(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None

    @field_validator("properties", "traits", "context", "integrations", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _check_required(self) -> SegmentMessage:
        if self.type == "alias":
            if not self.user_id or not (self.previous_id or self.anonymous_id):
                raise ValueError("alias needs userId and previousId")
        elif not self.user_id and not self.anonymous_id:
            raise ValueError("userId or anonymousId is required")
        if self.type == "track" and not (self.event and self.event.strip()):
            raise ValueError("track needs an event name in `event`")
        if self.type == "group" and not self.group_id:
            raise ValueError("group needs groupId")
        return self

    def all_traits(self) -> dict[str, Any]:
        """Traits given directly (identify) or carried in `context.traits` (any call)."""
        merged: dict[str, Any] = {}
        context_traits = self.context.get("traits")
        if isinstance(context_traits, dict):
            merged.update(context_traits)
        merged.update(self.traits)
        return merged


class AcceptedEvent(BaseModel):
    """What the intake puts on the events queue: one message, stamped and tied to a shop."""

    model_config = ConfigDict(frozen=True)

    shop_id: str
    message_id: str
    received_at: datetime
    timestamp: datetime
    message: dict[str, Any]
    # `client`: sent with the public write key (browsers, apps: anyone can forge it);
    # `server`: sent with the shop's secret key from the shop's own backend.
    source: Literal["client", "server"] = "client"

    def parsed(self) -> SegmentMessage:
        return SegmentMessage.model_validate(self.message)
