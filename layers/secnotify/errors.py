"""Domain errors: what went wrong, as data. Storage raises them, the services may catch them, and
the API's error table (``secnotify.http_api``) alone turns them into answers and their words.

A ``kind`` is a configuration kind's stored value (``ConfigKind``: ``PROFILE``, ``INTEGRATION``).
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class; every attribute is data, none is text meant for a client."""

    field: str | None = None  # the request field at fault, when there is one


class NotFound(DomainError):
    def __init__(self, kind: str, item_id: str) -> None:
        super().__init__(kind, item_id)
        self.kind = kind
        self.item_id = item_id


class DeliveryNotFound(NotFound):
    def __init__(self, integration_id: str, delivery_id: str) -> None:
        super().__init__("DELIVERY", delivery_id)
        self.integration_id = integration_id
        self.delivery_id = delivery_id


class VersionConflict(DomainError):
    """The item changed since the caller read it (optimistic locking): the caller's copy is stale."""

    def __init__(self, kind: str, item_id: str, expected_version: int) -> None:
        super().__init__(kind, item_id, expected_version)
        self.kind = kind
        self.item_id = item_id
        self.expected_version = expected_version


class TransactionConflict(DomainError):
    """A concurrent transaction touched the same items; the same request may succeed if sent again.

    Not a ``VersionConflict``: the caller's version may well be current."""


class Throttled(DomainError):
    """DynamoDB refused the write for want of capacity; the same request may succeed a moment later."""


class LimitExceeded(DomainError):
    def __init__(self, kind: str, max_count: int) -> None:
        super().__init__(kind, max_count)
        self.kind = kind
        self.max_count = max_count


class ProfileInUse(DomainError):
    """Integrations still refer to the profile: ``users`` holds their (id, display name) pairs."""

    def __init__(self, profile_id: str, users: list[tuple[str, str]]) -> None:
        super().__init__(profile_id, users)
        self.profile_id = profile_id
        self.users = users

    @property
    def integration_ids(self) -> list[str]:
        return [integration_id for integration_id, _name in self.users]


class ItemTooLarge(DomainError):
    def __init__(self, size: int, cap: int, kind: str, field: str | None = None) -> None:
        super().__init__(size, cap, kind, field)
        self.size = size
        self.cap = cap
        self.kind = kind  # what was refused
        self.field = field  # what grows in it, when one field does


class ProfileMissing(DomainError):
    """A reference to an alerting profile that does not exist."""

    def __init__(self, profile_id: str, field: str = "alertingProfileId") -> None:
        super().__init__(profile_id, field)
        self.profile_id = profile_id
        self.field = field


class InvalidToken(DomainError):
    """A page token this API did not issue (or issued for another listing)."""

    def __init__(self, field: str = "nextToken") -> None:
        super().__init__(field)
        self.field = field


class NameTaken(DomainError):
    """Another object of the same kind already has this name (profile ``name``, integration
    ``displayName``): ``holder_id`` is its id."""

    def __init__(self, kind: str, name: str, holder_id: str) -> None:
        super().__init__(kind, name, holder_id)
        self.kind = kind
        self.name = name
        self.holder_id = holder_id
        self.field = "name" if kind == "PROFILE" else "displayName"
