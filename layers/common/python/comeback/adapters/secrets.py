"""Reading secrets from AWS Secrets Manager, once per cold start."""

from __future__ import annotations

from typing import Any


class SecretReader:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._cache: dict[str, bytes] = {}

    def key(self, secret_id: str) -> bytes:
        if secret_id not in self._cache:
            value = self._client.get_secret_value(SecretId=secret_id)["SecretString"]
            if len(value) < 32:
                raise ValueError("the signing secret is too short to be a key")
            self._cache[secret_id] = value.encode("utf-8")
        return self._cache[secret_id]

    def text(self, secret_id: str) -> str:
        """A secret's string as stored (uncached: callers cache what they build from it)."""
        return self._client.get_secret_value(SecretId=secret_id)["SecretString"]
