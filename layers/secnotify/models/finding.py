"""A finding as an AWS security service reports it: one snapshot of its current state.

The services send the whole finding again whenever anything about it changes; a snapshot is
what one of those events says, normalised across services. Turning snapshots into lifecycle
transitions (opened, resolved, ...) is the job of the finding-state ledger, not of the parsers.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, computed_field

from secnotify.models.common import EventRiskLevel
from secnotify.models.event import AffectedEntity, Tag


class FindingStatus(StrEnum):
    """The status class a snapshot is in; only a change of class is a transition."""

    ACTIVE = "ACTIVE"
    RESOLVED = "RESOLVED"
    MUTED = "MUTED"  # suppressed or archived by a person: nothing is sent while muted


class FindingSource(StrEnum):
    """Where a finding was read from; the value is what ``{Source}`` shows."""

    INSPECTOR = "Amazon Inspector"
    SECURITY_HUB = "AWS Security Hub"
    GUARDDUTY = "Amazon GuardDuty"


# The prefix of each source's display id, e.g. ``INS-3c1a9f0e2b7d``.
DISPLAY_CODES: dict[FindingSource, str] = {
    FindingSource.INSPECTOR: "INS",
    FindingSource.SECURITY_HUB: "SHB",
    FindingSource.GUARDDUTY: "GD",
}


# A finding's state is keyed by ``FINDING#<id>``, and DynamoDB keys hold 2,048 bytes: ids are
# capped well below that (ASFF's own limit is 512 characters).
MAX_FINDING_ID_BYTES = 1024


def display_id(source: FindingSource, finding_id: str) -> str:
    """A short id for people: the source's code and the finding id's last 12 characters."""
    return f"{DISPLAY_CODES[source]}-{finding_id[-12:]}"


class FindingSnapshot(BaseModel):
    """One finding as one event describes it. Every field has a default: the services leave
    most of them out at one time or another."""

    model_config = ConfigDict(frozen=True)

    source: FindingSource
    finding_id: str  # the provider's own id (an ARN for Inspector and GuardDuty): one problem
    status: FindingStatus
    updated_at: datetime  # the finding's own update time: the order of snapshots
    created_at: datetime | None = None  # first observed
    risk_level: EventRiskLevel = EventRiskLevel.NONE
    risk_score: float | None = None  # 0-10
    base_risk_score: float | None = None  # CVSS base score, 0-10
    title: str = ""
    description: str = ""
    finding_type: str = ""
    technology: str = ""
    cve_ids: tuple[str, ...] = ()
    public_exploit: str = "NOT_AVAILABLE"  # AVAILABLE or NOT_AVAILABLE
    fix_available: str = ""  # YES, NO, PARTIAL, or empty when the source does not say
    exposure: str = "NOT_AVAILABLE"  # PUBLIC_NETWORK when the finding shows a path from the internet
    account_id: str = ""
    account_name: str = ""
    region: str = ""
    console_url: str = ""
    entities: tuple[AffectedEntity, ...] = ()
    tags: tuple[Tag, ...] = ()
    sample: bool = False  # a sample finding (GuardDuty CreateSampleFindings)
    # False where a change may keep the update time (a person's workflow change in Security Hub,
    # without ProcessedAt): then a snapshot with the stored time but other content is a change.
    # Elsewhere it is a late copy, and changes nothing.
    updated_at_moves: bool = True

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display_id(self) -> str:
        return display_id(self.source, self.finding_id)


class FindingTransition(StrEnum):
    """What a new snapshot changed, as receivers are told it; no transition sends nothing."""

    OPENED = "OPENED"
    REOPENED = "REOPENED"
    RESOLVED = "RESOLVED"
    RISK_LEVEL_CHANGED = "RISK_LEVEL_CHANGED"


class FindingState(BaseModel):
    """What is kept per finding, to tell a change from a re-send."""

    model_config = ConfigDict(frozen=True)

    # What the finding is now, kept for asking "what is open" across sources; decisions use
    # what receivers were told (below), not these.
    status: FindingStatus
    risk_level: EventRiskLevel
    zone_ids: tuple[str, ...] = ()
    updated_at: float  # the snapshot's own update time, epoch seconds: the compare-and-swap key
    # Receivers were told it is open (opened or reopened, not resolved since): a resolution is
    # news to them only then, and a risk change only while it holds.
    open_notified: bool = False
    # The level receivers were last told; None until they have heard of the finding at all
    # (so an active finding is then reopened rather than opened).
    notified_risk_level: EventRiskLevel | None = None
    last_transition: FindingTransition | None = None  # what the snapshot at ``updated_at`` made
    # Recorded silently on first sight (older than the baseline) and unchanged since: it stays
    # silent until it changes.
    baselined: bool = False
    # Counts the writes: the compare-and-swap key, since a change need not move ``updated_at``
    # (Security Hub leaves UpdatedAt alone when a person changes a finding's workflow status).
    revision: int = 0
