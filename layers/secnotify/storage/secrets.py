"""Secret values at rest: header secrets and signing secrets are sealed with AES-256-GCM under a
data key that the stack's KMS key wraps (envelope encryption).

The wrapped data key is kept in the table; each process unwraps it once through KMS. A sealed
value is bound to its integration (associated data), so it cannot be moved to another one. On
top of this, the table itself is encrypted with the same customer-managed key.
"""

from __future__ import annotations

import base64
import os
import threading
from typing import Any

from secnotify.storage.client import aws_client, dynamodb_client
from secnotify.storage.conditional import get_or_create
from secnotify.storage.keys import named_key

PREFIX = "sn1:"
_KEY_ITEM = named_key("secrets")


class UnsealedSecret(ValueError):
    """A stored secret that was not sealed by ``SecretBox``: refused, like a tampered one."""


class SecretBox:
    """Seals and opens secret strings. There is no plaintext mode: a KMS key is required."""

    def __init__(self, table_name: str, kms_key_id: str, dynamodb: Any = None, kms: Any = None) -> None:
        if not kms_key_id.strip():
            raise ValueError(
                "SecretBox needs a KMS key id (KMS_KEY_ID); secrets are never stored in plaintext"
            )
        self.table_name = table_name
        self.kms_key_id = kms_key_id
        self._dynamodb = dynamodb
        self._kms = kms
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def seal(self, plaintext: str, context: str) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        sealed = AESGCM(self._data_key()).encrypt(nonce, plaintext.encode(), context.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, value: str, context: str) -> str:
        if not value.startswith(PREFIX):
            raise UnsealedSecret(f"a stored secret ({context.rpartition('|')[2]}) is not sealed")
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        blob = base64.b64decode(value[len(PREFIX) :])
        return AESGCM(self._data_key()).decrypt(blob[:12], blob[12:], context.encode()).decode()

    def _data_key(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = self._load_or_create_key()
            return self._key

    def _load_or_create_key(self) -> bytes:
        dynamodb = self._dynamodb or dynamodb_client()
        kms = self._kms or aws_client("kms")
        context = {"table": self.table_name, "purpose": "secnotify-secrets"}

        def fresh() -> dict[str, Any]:
            # A concurrent cold start may store its key first: then both use that one.
            made = kms.generate_data_key(KeyId=self.kms_key_id, KeySpec="AES_256", EncryptionContext=context)
            return {"wrapped": {"B": made["CiphertextBlob"]}}

        item = get_or_create(dynamodb, self.table_name, _KEY_ITEM, fresh)
        plain = kms.decrypt(CiphertextBlob=bytes(item["wrapped"]["B"]), EncryptionContext=context)[
            "Plaintext"
        ]
        return bytes(plain)
