"""Storage-level failures the service layer turns into API answers."""

from __future__ import annotations


class StorageError(Exception):
    """Base class; the message is safe to show a client."""


class NotFound(StorageError):
    pass


class VersionConflict(StorageError):
    """The item changed since the caller read it (optimistic locking)."""


class TransactionConflict(VersionConflict):
    """A concurrent transaction touched the same items; the same request may succeed if sent again."""

    def __init__(self, message: str = "a concurrent change touched the same items; try again") -> None:
        super().__init__(message)


class LimitExceeded(StorageError):
    pass


class ProfileInUse(StorageError):
    def __init__(self, message: str, integration_ids: list[str]) -> None:
        super().__init__(message)
        self.integration_ids = integration_ids


class ItemTooLarge(StorageError):
    def __init__(self, size: int, cap: int) -> None:
        super().__init__(f"the stored item would take {size:,} bytes; the cap is {cap:,} bytes")
        self.size = size
        self.cap = cap


class ProfileMissing(StorageError):
    pass


class InvalidToken(StorageError):
    pass
