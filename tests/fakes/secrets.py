"""Sealed secrets without KMS: the real AES-GCM sealing, under a fixed key held in memory."""

from __future__ import annotations

from secnotify.storage.secrets import SecretBox

_KEY = bytes(range(32))


class InMemorySecrets(SecretBox):
    """A ``SecretBox`` whose data key is fixed instead of unwrapped through KMS: what it seals
    only it (or another of its kind) opens, bound to the same context as in production."""

    def __init__(self) -> None:
        super().__init__(table_name="in-memory", kms_key_id="in-memory")

    def _data_key(self) -> bytes:
        return _KEY
