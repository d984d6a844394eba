"""Alerting profile use cases."""

from __future__ import annotations

from typing import Any

from secnotify.models.profile import AlertingProfile, AlertingProfileInput
from secnotify.service.common import check_if_match, check_server_fields, new_id, now_iso, validated
from secnotify.service.merge_patch import merge_patch
from secnotify.service.ports.config import ConfigKind, ConfigRepository, StoredItem
from secnotify.settings import Settings


def _profile(item: StoredItem) -> AlertingProfile:
    return item.as_model(AlertingProfile)


class ProfileService:
    def __init__(self, config: ConfigRepository, settings: Settings) -> None:
        self.config = config
        self.settings = settings

    def create(self, data: AlertingProfileInput) -> AlertingProfile:
        now = now_iso()
        item_id = new_id()
        doc = {**data.model_dump(mode="json"), "createdAt": now, "updatedAt": now}
        return _profile(self.config.create_profile(item_id, doc, self.settings.max_profiles))

    def get(self, profile_id: str) -> AlertingProfile:
        return _profile(self.config.get_config_item(ConfigKind.PROFILE, profile_id))

    def page(self, limit: int, token: str | None) -> tuple[list[AlertingProfile], str | None]:
        page = self.config.list_config_items(ConfigKind.PROFILE, limit, token)
        return [_profile(i) for i in page.items], page.next_token

    def replace(self, profile_id: str, data: AlertingProfileInput, if_match: str | None) -> AlertingProfile:
        current = self.get(profile_id)
        check_server_fields(data, current.id, current.version, if_match, f"alerting profile {profile_id}")
        return self._save_edit(current, data)

    def patch(self, profile_id: str, patch: dict[str, Any], if_match: str | None) -> AlertingProfile:
        """A JSON Merge Patch (RFC 7396) of the profile as GET shows it, saved as a PUT of the result."""
        current = self.get(profile_id)
        what = f"alerting profile {profile_id}"
        check_if_match(if_match, current.version, what)
        data = validated(AlertingProfileInput, merge_patch(current.model_dump(mode="json"), patch))
        check_server_fields(data, current.id, current.version, if_match, what)
        return self._save_edit(current, data)

    def _save_edit(self, current: AlertingProfile, data: AlertingProfileInput) -> AlertingProfile:
        doc = {**data.model_dump(mode="json"), "createdAt": current.createdAt, "updatedAt": now_iso()}
        return _profile(self.config.replace_profile(current.id, doc, current.version))

    def delete(self, profile_id: str) -> None:
        self.config.delete_profile(profile_id)
