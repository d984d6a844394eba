"""Opaque ``nextToken`` values: a DynamoDB start key, signed so a client cannot forge one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from typing import Any

from secnotify.errors import InvalidToken
from secnotify.storage.conditional import get_or_create
from secnotify.storage.keys import named_key

_TOKEN_SK = re.compile(r"^[A-Za-z0-9#:_\-.]{1,200}$")


def encode_token(key: dict[str, Any], secret: bytes) -> str:
    raw = json.dumps({"pk": key["pk"]["S"], "sk": key["sk"]["S"]}, separators=(",", ":")).encode()
    mac = hmac.new(secret, raw, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac + raw).decode().rstrip("=")


def decode_token(token: str, pk: str, sk_prefix: str, secret: bytes) -> dict[str, Any]:
    """Turn an opaque nextToken back into a start key, refusing anything we did not issue."""
    try:
        blob = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode("ascii"))
        mac, raw = blob[:16], blob[16:]
        if not hmac.compare_digest(mac, hmac.new(secret, raw, hashlib.sha256).digest()[:16]):
            raise InvalidToken()
        data = json.loads(raw)
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidToken() from None
    if (
        not isinstance(data, dict)
        or set(data) != {"pk", "sk"}
        or data["pk"] != pk
        or not isinstance(data["sk"], str)
        or not data["sk"].startswith(sk_prefix)
        or not _TOKEN_SK.match(data["sk"])
    ):
        raise InvalidToken()
    return {"pk": {"S": pk}, "sk": {"S": data["sk"]}}


def seal_position(position: dict[str, Any], secret: bytes) -> str:
    """Any JSON position (a shard and a start key of an index, say), signed like a start key."""
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(secret, b"position\x00" + raw, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac + raw).decode().rstrip("=")


def open_position(token: str, secret: bytes) -> dict[str, Any]:
    """The position a ``seal_position`` token holds; ``InvalidToken`` for anything else. The
    caller still checks that it points where its listing may go."""
    try:
        blob = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode("ascii"))
        mac, raw = blob[:16], blob[16:]
        expected = hmac.new(secret, b"position\x00" + raw, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(mac, expected):
            raise InvalidToken()
        data = json.loads(raw)
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidToken() from None
    if not isinstance(data, dict):
        raise InvalidToken()
    return data


class PageTokens:
    """Signs and checks page tokens with a key made once per table and kept in it."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name
        self._secret: bytes | None = None

    def _key(self) -> bytes:
        if self._secret is None:
            item = get_or_create(
                self.client,
                self.table_name,
                named_key("page-token"),
                lambda: {"secret": {"B": secrets.token_bytes(32)}},
            )
            self._secret = bytes(item["secret"]["B"])
        return self._secret

    def seal(self, position: dict[str, Any]) -> str:
        return seal_position(position, self._key())

    def open(self, token: str) -> dict[str, Any]:
        return open_position(token, self._key())

    def query_page(
        self, query: dict[str, Any], token: str | None, sk_prefix: str
    ) -> tuple[list[Any], str | None]:
        """One page of ``query`` (a Query request on one partition) from ``token``: its items
        and the token of the next page, if any."""
        pk = query["ExpressionAttributeValues"][":pk"]["S"]
        if token:
            query = {**query, "ExclusiveStartKey": decode_token(token, pk, sk_prefix, self._key())}
        resp = self.client.query(**query)
        last = resp.get("LastEvaluatedKey")
        return resp.get("Items", []), encode_token(last, self._key()) if last else None


class PagedTable:
    """An adapter over the table whose listings page with signed tokens."""

    def __init__(self, client: Any, table_name: str, tokens: PageTokens | None = None) -> None:
        self.client = client
        self.table_name = table_name
        self.tokens = tokens or PageTokens(client, table_name)
