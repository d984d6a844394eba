"""What the services need to keep secret values at rest: seal on the way in, open on the way out.

The adapter (``secnotify.storage.secrets.SecretBox``) uses envelope encryption under the stack's
KMS key. ``context`` binds a sealed value to where it belongs (integration and field): opening it
under another context fails.
"""

from __future__ import annotations

from typing import Protocol


class SecretSealer(Protocol):
    def seal(self, plaintext: str, context: str) -> str: ...

    def open(self, value: str, context: str) -> str:
        """The plaintext of ``value``; raises when it was not sealed, or not under ``context``."""
        ...
