"""What every ConfigRepository must do about names and the audit trail, as checks on a subject.

Names: a profile's ``name`` and an integration's ``displayName`` are unique within their kind,
compared without case or runs of spaces; a create or a rename to a taken name is refused naming
the holder, and changes nothing. Items stored before names were locked (``Subject.legacy``) keep
working: an edit that keeps the name never fails for it, and the first create locks their names.
Audit: every write records one entry (who, what, which fields, never a value), in the same
atomic write: a refused write records none.

Checks marked ``conditional`` fail on a repository that skips the name locks' conditions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from secnotify.errors import NameTaken
from secnotify.models.audit import AuditAction, AuditEntry, AuditKind
from secnotify.service.ports.config import ConfigKind, ConfigRepository
from tests.contract.checks import Contract

ALICE = "arn:aws:iam::123456789012:user/alice"
MAX = 1000


@dataclass(frozen=True)
class Subject:
    repo: ConfigRepository
    legacy: Callable[[str, str, dict[str, Any]], None]  # (kind, id, doc): stored without a lock
    audit: Callable[[], list[AuditEntry]]  # newest first


CONFIG: Contract[Subject] = Contract()
check = CONFIG.check


def profile(name: str, created: str = "2027-01-01T00:00:00.000Z", **more: Any) -> dict[str, Any]:
    return {
        "name": name,
        "enabled": True,
        "enabledRiskLevels": ["CRITICAL", "HIGH"],
        "enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED"],
        "managementZone": None,
        "createdAt": created,
        "updatedAt": created,
        **more,
    }


def integration(name: str, profile_id: str, url: str = "https://hooks.example.com/a") -> dict[str, Any]:
    return {
        "displayName": name,
        "enabled": True,
        "alertingProfileId": profile_id,
        "webhook": {
            "url": url,
            "headers": [{"name": "Content-Type", "value": "application/json", "secret": False}],
            "payload": '{"title": "{Title}"}',
        },
        "createdAt": "2027-01-01T00:00:00.000Z",
        "updatedAt": "2027-01-01T00:00:00.000Z",
    }


def new_id() -> str:
    return str(uuid.uuid4())


def _refused(write: Callable[[], Any], holder: str) -> NameTaken:
    try:
        write()
    except NameTaken as refused:
        assert refused.holder_id == holder
        return refused
    raise AssertionError("the write was not refused")


@check(conditional=True)
def a_taken_profile_name_is_refused_naming_its_holder(s: Subject) -> None:
    first = new_id()
    s.repo.create_profile(first, profile("Production"), MAX)
    second = new_id()
    refused = _refused(lambda: s.repo.create_profile(second, profile("Production"), MAX), first)
    assert (refused.kind, refused.name, refused.field) == (ConfigKind.PROFILE, "Production", "name")
    assert [p.id for p in s.repo.load_config().profiles] == [first]


@check(conditional=True)
def names_compare_without_case_or_runs_of_spaces(s: Subject) -> None:
    first = new_id()
    s.repo.create_profile(first, profile("Prod  Alerts"), MAX)
    for same in ("prod alerts", " PROD ALERTS ", "Prod\tAlerts"):
        _refused(lambda same=same: s.repo.create_profile(new_id(), profile(same), MAX), first)
    s.repo.create_profile(new_id(), profile("Prod-Alerts"), MAX)  # another name


@check(conditional=True)
def a_taken_display_name_is_refused_naming_its_holder(s: Subject) -> None:
    pid = new_id()
    s.repo.create_profile(pid, profile("p"), MAX)
    first = new_id()
    s.repo.create_integration(first, integration("Slack #sec", pid), MAX)
    refused = _refused(
        lambda: s.repo.create_integration(new_id(), integration("slack #SEC", pid), MAX), first
    )
    assert refused.field == "displayName"
    assert [i.id for i in s.repo.load_config().integrations] == [first]


@check(conditional=False)
def profiles_and_integrations_have_names_of_their_own(s: Subject) -> None:
    pid = new_id()
    s.repo.create_profile(pid, profile("Security"), MAX)
    s.repo.create_integration(new_id(), integration("Security", pid), MAX)
    assert len(s.repo.load_config().integrations) == 1


@check(conditional=True)
def a_rename_releases_the_old_name_and_takes_the_new(s: Subject) -> None:
    pid = new_id()
    s.repo.create_profile(pid, profile("old"), MAX)
    s.repo.replace_profile(pid, profile("new"), 1)
    s.repo.create_profile(new_id(), profile("old"), MAX)  # free again
    _refused(lambda: s.repo.create_profile(new_id(), profile("NEW"), MAX), pid)


@check(conditional=True)
def a_rename_to_a_taken_name_changes_nothing(s: Subject) -> None:
    a, b = new_id(), new_id()
    s.repo.create_profile(a, profile("a"), MAX)
    s.repo.create_profile(b, profile("b"), MAX)
    _refused(lambda: s.repo.replace_profile(b, profile("A"), 1), a)
    stored = s.repo.get_config_item(ConfigKind.PROFILE, b)
    assert (stored.version, stored.doc["name"]) == (1, "b")
    _refused(lambda: s.repo.create_profile(new_id(), profile("b"), MAX), b)  # b kept its name


@check(conditional=False)
def an_edit_may_change_only_the_case_of_its_name(s: Subject) -> None:
    pid = new_id()
    s.repo.create_profile(pid, profile("prod"), MAX)
    s.repo.replace_profile(pid, profile("PROD"), 1)
    s.repo.replace_profile(pid, profile("PROD", enabled=False), 2)
    assert s.repo.get_config_item(ConfigKind.PROFILE, pid).doc["name"] == "PROD"


@check(conditional=False)
def a_delete_releases_the_name(s: Subject) -> None:
    pid, iid = new_id(), new_id()
    s.repo.create_profile(pid, profile("gone"), MAX)
    s.repo.create_integration(iid, integration("gone too", pid), MAX)
    s.repo.delete_integration(iid)
    s.repo.delete_profile(pid)
    again = new_id()
    s.repo.create_profile(again, profile("gone"), MAX)
    s.repo.create_integration(new_id(), integration("gone too", again), MAX)


@check(conditional=True)
def an_item_stored_before_locks_can_be_edited_and_then_holds_its_name(s: Subject) -> None:
    old = new_id()
    s.legacy(ConfigKind.PROFILE, old, profile("legacy"))
    s.repo.replace_profile(old, profile("legacy", enabled=False), 1)
    assert s.repo.get_config_item(ConfigKind.PROFILE, old).version == 2
    _refused(lambda: s.repo.create_profile(new_id(), profile("legacy"), MAX), old)


@check(conditional=False)
def duplicates_stored_before_locks_can_both_be_edited_renamed_and_deleted(s: Subject) -> None:
    a, b, c = new_id(), new_id(), new_id()
    s.legacy(ConfigKind.PROFILE, a, profile("twin", created="2026-01-01T00:00:00.000Z"))
    s.legacy(ConfigKind.PROFILE, b, profile("twin", created="2026-02-01T00:00:00.000Z"))
    s.legacy(ConfigKind.PROFILE, c, profile("TWIN", created="2026-03-01T00:00:00.000Z"))
    s.repo.replace_profile(b, profile("twin", enabled=False), 1)  # b takes the free lock
    s.repo.replace_profile(a, profile("twin", enabled=False), 1)  # held by b: a goes on without
    s.repo.replace_profile(b, profile("twin", managementZone="z"), 2)
    s.repo.replace_profile(c, profile("twin single"), 1)  # a rename away from a name another holds
    s.repo.delete_profile(a)
    versions = {p.id: p.version for p in s.repo.load_config().profiles}
    assert versions == {b: 3, c: 2}


@check(conditional=True)
def names_stored_before_locks_are_taken_by_the_first_create(s: Subject) -> None:
    older, newer = new_id(), new_id()
    s.legacy(ConfigKind.PROFILE, newer, profile("shared", created="2026-05-01T00:00:00.000Z"))
    s.legacy(ConfigKind.PROFILE, older, profile("Shared", created="2026-01-01T00:00:00.000Z"))
    pid = new_id()
    s.legacy(ConfigKind.PROFILE, pid, profile("p"))
    s.legacy(ConfigKind.INTEGRATION, "i-old", integration("hook", pid))
    _refused(lambda: s.repo.create_profile(new_id(), profile("SHARED"), MAX), older)  # the oldest holds it
    _refused(lambda: s.repo.create_integration(new_id(), integration("Hook", pid), MAX), "i-old")
    # and a rename into it is refused the same way
    _refused(lambda: s.repo.replace_profile(pid, profile("shared"), 1), older)


@check(conditional=False)
def every_write_is_audited_newest_first(s: Subject) -> None:
    pid, iid = new_id(), new_id()
    s.repo.create_profile(pid, profile("audited"), MAX)
    s.repo.create_integration(iid, integration("hook", pid), MAX)
    s.repo.replace_integration(iid, integration("hook", pid, url="https://hooks.example.com/b"), 1, pid)
    s.repo.replace_profile(pid, profile("audited again", enabled=False), 1)
    s.repo.delete_integration(iid)
    entries = s.audit()
    seen = [(e.action, e.kind, e.objectId, e.name, e.version) for e in entries]
    assert seen == [
        (AuditAction.DELETE, AuditKind.INTEGRATION, iid, "hook", None),
        (AuditAction.UPDATE, AuditKind.PROFILE, pid, "audited again", 2),
        (AuditAction.UPDATE, AuditKind.INTEGRATION, iid, "hook", 2),
        (AuditAction.CREATE, AuditKind.INTEGRATION, iid, "hook", 1),
        (AuditAction.CREATE, AuditKind.PROFILE, pid, "audited", 1),
    ]
    assert {e.principal for e in entries} == {ALICE}
    assert entries[1].changes == ["name", "enabled"]
    assert entries[2].changes == ["webhook.url"]
    assert "displayName" in entries[3].changes and "createdAt" not in entries[3].changes
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)


@check(conditional=True)
def a_refused_write_is_not_audited(s: Subject) -> None:
    first = new_id()
    s.repo.create_profile(first, profile("once"), MAX)
    _refused(lambda: s.repo.create_profile(new_id(), profile("once"), MAX), first)
    other = new_id()
    s.repo.create_profile(other, profile("other"), MAX)
    _refused(lambda: s.repo.replace_profile(other, profile("ONCE"), 1), first)
    assert [(e.action, e.objectId) for e in s.audit()] == [
        (AuditAction.CREATE, other),
        (AuditAction.CREATE, first),
    ]
