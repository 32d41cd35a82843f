"""A real HTTP server on 127.0.0.1 standing in for API Gateway's HTTP API: it turns each request
into the payload-v2 event API Gateway would send and calls the route's real handler."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from comeback.local.functions import LocalFunction
from comeback.routes import ROUTES, find_route

# API Gateway's own payload limit is 10 MB; nothing we accept comes near it.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
CORS_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": "authorization, content-type, content-encoding",
}


def api_gateway_event(
    method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    parts = urlsplit(target)
    return {
        "version": "2.0",
        "routeKey": f"{method} {parts.path}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {parts.path}",
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "body": base64.b64encode(body).decode("ascii") if body else None,
        "isBase64Encoded": bool(body),
    }


class LocalApi:
    def __init__(self, functions: dict[str, LocalFunction], *, port: int = 0) -> None:
        self._functions = functions
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._request_handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _request_handler(self) -> type[BaseHTTPRequestHandler]:
        functions = self._functions

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the handlers log what matters

            def do_OPTIONS(self) -> None:
                self._send(204, CORS_HEADERS, b"")

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def do_PATCH(self) -> None:
                self._dispatch("PATCH")

            def _dispatch(self, method: str) -> None:
                raw_length = self.headers.get("Content-Length") or "0"
                if not raw_length.isdigit():
                    self._json(400, {"message": "Bad Request: Content-Length"})
                    self.close_connection = True
                    return
                length = int(raw_length)
                if length > MAX_REQUEST_BYTES:
                    self._json(413, {"message": "Request Entity Too Large"})
                    self.close_connection = True
                    return
                body = self.rfile.read(length) if length else b""
                route = find_route(method, urlsplit(self.path).path)
                if route is None:
                    known = {r.path for r in ROUTES}
                    status = 405 if urlsplit(self.path).path in known else 404
                    self._json(
                        status, {"message": "Not Found" if status == 404 else "Method Not Allowed"}
                    )
                    return
                event = api_gateway_event(
                    method, self.path, dict(self.headers.items()), body, self.client_address[0]
                )
                try:
                    answer = functions[route.function].invoke(event)
                except Exception:  # as API Gateway answers for a failed Lambda: 500
                    logging.getLogger(__name__).exception("handler failed")
                    self._json(500, {"message": "Internal Server Error"})
                    return
                payload = answer.get("body") or ""
                data = (
                    base64.b64decode(payload)
                    if answer.get("isBase64Encoded")
                    else payload.encode("utf-8")
                )
                headers = {**CORS_HEADERS, **(answer.get("headers") or {})}
                self._send(int(answer.get("statusCode", 200)), headers, data)

            def _json(self, status: int, body: dict[str, Any]) -> None:
                self._send(status, {"content-type": "application/json"}, json.dumps(body).encode())

            def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

        return Handler
