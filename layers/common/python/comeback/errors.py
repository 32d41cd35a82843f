"""Domain errors. Lower layers raise these; `comeback.http` maps them to status codes."""

from __future__ import annotations


class ComebackError(Exception):
    """Base of every error the product raises on purpose."""


class InvalidInput(ComebackError):
    """The client sent something we refuse; nothing was changed."""

    def __init__(self, message: str, *, details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class PayloadTooLarge(InvalidInput):
    pass


class Unauthorized(ComebackError):
    pass


class NotFound(ComebackError):
    pass


class LinkExpired(ComebackError):
    """A genuine signed link whose time is over (HTTP 410). It names the shop the signed claim
    named, so the page can send the person to the shop rather than a dead end."""

    def __init__(self, message: str, *, shop_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.shop_id = shop_id


class TemporarilyUnavailable(ComebackError):
    """A dependency failed in a way the client should retry (5xx)."""


class ConcurrentUpdate(ComebackError):
    """An optimistic write lost a race; the caller re-reads and tries again."""
