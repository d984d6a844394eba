"""Alerting profile use cases."""

from __future__ import annotations

from secnotify.models.profile import AlertingProfile, AlertingProfileInput
from secnotify.service.common import check_if_match, new_id, now_iso
from secnotify.service.errors import Conflict, NotFoundError, PreconditionFailed
from secnotify.settings import Settings
from secnotify.storage.config_repository import DynamoConfigRepository, StoredItem
from secnotify.storage.errors import LimitExceeded, NotFound, ProfileInUse, VersionConflict
from secnotify.storage.keys import PROFILE


def _profile(item: StoredItem) -> AlertingProfile:
    return AlertingProfile.model_validate({**item.doc, "id": item.id, "version": item.version})


class ProfileService:
    def __init__(self, store: DynamoConfigRepository, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def create(self, data: AlertingProfileInput) -> AlertingProfile:
        now = now_iso()
        item_id = new_id()
        doc = {**data.model_dump(mode="json"), "createdAt": now, "updatedAt": now}
        try:
            stored = self.store.create_profile(item_id, doc, self.settings.max_profiles)
        except (LimitExceeded, VersionConflict) as exc:
            raise Conflict(str(exc)) from None
        return _profile(stored)

    def get(self, profile_id: str) -> AlertingProfile:
        try:
            return _profile(self.store.get_config_item(PROFILE, profile_id))
        except NotFound as exc:
            raise NotFoundError(str(exc)) from None

    def page(self, limit: int, token: str | None) -> tuple[list[AlertingProfile], str | None]:
        page = self.store.list_config_items(PROFILE, limit, token)
        return [_profile(i) for i in page.items], page.next_token

    def replace(self, profile_id: str, data: AlertingProfileInput, if_match: str | None) -> AlertingProfile:
        current = self.get(profile_id)
        check_if_match(if_match, current.version, f"alerting profile {profile_id}")
        doc = {**data.model_dump(mode="json"), "createdAt": current.createdAt, "updatedAt": now_iso()}
        try:
            stored = self.store.replace_profile(profile_id, doc, current.version)
        except VersionConflict as exc:
            raise PreconditionFailed(str(exc)) from None
        return _profile(stored)

    def delete(self, profile_id: str) -> None:
        try:
            self.store.delete_profile(profile_id)
        except NotFound as exc:
            raise NotFoundError(str(exc)) from None
        except ProfileInUse as exc:
            raise Conflict(str(exc), integrations=exc.integration_ids) from None
        except VersionConflict as exc:
            raise Conflict(str(exc)) from None
