"""API Gateway HTTP API (payload v2) requests and responses, and the one place where domain
errors become HTTP status codes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from comeback.errors import (
    ComebackError,
    InvalidInput,
    LinkExpired,
    NotFound,
    PayloadTooLarge,
    TemporarilyUnavailable,
    Unauthorized,
)

JSON_HEADERS = {"content-type": "application/json", "cache-control": "no-store"}
_HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
# Our pages are opened from links whose signed token is in the URL: no cache keeps them, no
# Referer carries the token on to the next site, and no search engine lists them.
HTML_HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "content-security-policy": _HTML_CSP,
    "referrer-policy": "no-referrer",
    "x-robots-tag": "noindex",
}
# The same, for a page that shows product pictures (https only) from the shop's site or CDN.
HTML_IMAGES_HEADERS = {**HTML_HEADERS, "content-security-policy": f"{_HTML_CSP}; img-src https:"}


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> ApiRequest:
        http = event.get("requestContext", {}).get("http", {})
        raw = event.get("body") or ""
        body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
        query = {k: v[0] for k, v in parse_qs(event.get("rawQueryString") or "").items()}
        return cls(
            method=(http.get("method") or "GET").upper(),
            path=event.get("rawPath") or http.get("path") or "/",
            headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
            query=query,
            body=body,
        )

    def form(self) -> dict[str, str]:
        if "application/x-www-form-urlencoded" not in self.headers.get("content-type", ""):
            return {}
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}


def json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {**JSON_HEADERS, **(headers or {})},
        "body": json.dumps(body, default=str),
    }


def html_response(status: int, page: str, *, images: bool = False) -> dict[str, Any]:
    """An HTML page; `images`: it may load https pictures (nothing else from elsewhere)."""
    headers = HTML_IMAGES_HEADERS if images else HTML_HEADERS
    return {"statusCode": status, "headers": dict(headers), "body": page}


def redirect_response(location: str) -> dict[str, Any]:
    """A 302 to a URL we signed ourselves (never one taken from the request)."""
    return {
        "statusCode": 302,
        "headers": {"Location": location, "Cache-Control": "no-store"},
        "body": "",
    }


def error_status(error: ComebackError) -> int:
    if isinstance(error, PayloadTooLarge | InvalidInput):
        return 400
    if isinstance(error, Unauthorized):
        return 401
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, LinkExpired):
        return 410
    if isinstance(error, TemporarilyUnavailable):
        return 503
    return 500


def error_code(error: ComebackError) -> str:
    codes = {
        400: "invalid_request",
        401: "unauthorized",
        404: "not_found",
        410: "expired",
        503: "unavailable",
    }
    return codes.get(error_status(error), "error")


def json_error(error: ComebackError) -> dict[str, Any]:
    status = error_status(error)
    body: dict[str, Any] = {
        "success": False,
        "error": error_code(error),
        "message": getattr(error, "message", None) or str(error),
    }
    if isinstance(error, InvalidInput) and error.details:
        body["rejected"] = error.details
    headers = {"www-authenticate": 'Basic realm="comeback"'} if status == 401 else None
    if status == 503:
        headers = {"retry-after": "5"}
    return json_response(status, body, headers)


def guarded(
    action: Callable[[], dict[str, Any]],
    on_error: Callable[[ComebackError], dict[str, Any]] = json_error,
) -> dict[str, Any]:
    """Run a request; any domain error becomes its HTTP answer."""
    try:
        return action()
    except ComebackError as error:
        return on_error(error)
