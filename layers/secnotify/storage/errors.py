"""The domain errors storage raises. Each carries a neutral message and, as attributes, what the
API needs to answer (the field at fault, the integrations in the way); the API's error table
(``secnotify.http_api``) turns them into answers, in one place."""

from __future__ import annotations


class StorageError(Exception):
    """Base class; the message is safe to show a client."""

    field: str | None = None  # the request field at fault, when there is one


class NotFound(StorageError):
    pass


class VersionConflict(StorageError):
    """The item changed since the caller read it (optimistic locking): the caller's copy is stale."""


class TransactionConflict(StorageError):
    """A concurrent transaction touched the same items; the same request may succeed if sent again.

    Not a ``VersionConflict``: the caller's version may well be current."""

    def __init__(self, message: str = "a concurrent change touched the same items; try again") -> None:
        super().__init__(message)


class LimitExceeded(StorageError):
    pass


class ProfileInUse(StorageError):
    def __init__(self, message: str, integration_ids: list[str]) -> None:
        super().__init__(message)
        self.integration_ids = integration_ids


class ItemTooLarge(StorageError):
    def __init__(self, size: int, cap: int, item: str) -> None:
        super().__init__(f"the stored item would take {size:,} bytes; the cap is {cap:,} bytes")
        self.size = size
        self.cap = cap
        self.item = item  # what was refused: "integration", "alerting profile"


class ProfileMissing(StorageError):
    """A reference to an alerting profile that does not exist."""

    def __init__(self, profile_id: str, field: str = "alertingProfileId") -> None:
        super().__init__(f"no alerting profile with id {profile_id}")
        self.profile_id = profile_id
        self.field = field


class InvalidToken(StorageError):
    def __init__(self, message: str, field: str = "nextToken") -> None:
        super().__init__(message)
        self.field = field
