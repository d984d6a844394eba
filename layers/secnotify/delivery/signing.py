"""Standard Webhooks v1 signatures (https://www.standardwebhooks.com/, README "Delivery")."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

import secnotify

USER_AGENT = f"secnotify/{secnotify.__version__}"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret


def _secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # Extra padding is ignored by b64decode; it lets unpadded secrets through, as the reference does.
        key = base64.b64decode(encoded + "==", validate=False)
    except (binascii.Error, ValueError):
        raise ValueError("signing secret is not valid base64") from None
    if not key:
        raise ValueError("signing secret is empty")
    return key


def signing_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for; ``ValueError`` when it is not valid."""
    return _secret_key(secret)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``.

    The body is signed as the exact bytes sent, so receivers that verify the raw body agree with us.
    """
    return sign_with_key(_secret_key(secret), msg_id, timestamp, body)


def sign_with_key(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``sign`` with the key already decoded (``signing_key``), for a sender that keeps it."""
    digest = hmac.digest(key, f"{msg_id}.{int(timestamp)}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(digest).decode("ascii")


def generate_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")
