"""The normalised security event every source is turned into (README "Events")."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from secnotify.models.common import EventRiskLevel, TriggerEvent


class ManagementZone(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str = ""
    name: str = ""


class AffectedEntity(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str = ""
    name: str = ""
    type: str = ""


class Tag(BaseModel):
    model_config = ConfigDict(frozen=True)
    key: str
    value: str | None = None


class SecurityEvent(BaseModel):
    """One security-problem event, whatever its source, ready for matching and templating."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    event_time: datetime
    detail_type: str
    trigger: TriggerEvent
    security_problem_id: str = ""
    display_id: str = ""
    status: str = "OPEN"
    muted: bool = False
    title: str = ""
    description: str = ""
    url: str = ""
    technology: str = ""
    vulnerability_type: str = ""
    cve_ids: tuple[str, ...] = ()
    risk_level: EventRiskLevel = EventRiskLevel.NONE
    risk_score: float | None = None
    base_risk_score: float | None = None
    exposure: str = ""
    public_exploit: str = ""
    data_assets: str = ""
    management_zones: tuple[ManagementZone, ...] = ()
    new_management_zones: tuple[ManagementZone, ...] = ()
    affected_entities: tuple[AffectedEntity, ...] = ()
    tags: tuple[Tag, ...] = ()
    first_seen_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    # Where the finding comes from; AWS findings fill these, the platform's own events leave them empty.
    source: str = ""
    account_id: str = ""
    region: str = ""
    finding_type: str = ""
    fix_available: str = ""  # YES, NO, PARTIAL, or empty when the source does not say
    console_url: str = ""
    # An attack (trigger ATTACK_DETECTED) fills these; a problem leaves them empty.
    attack_id: str = ""
    attack_display_id: str = ""
    attack_type: str = ""
    attack_state: str = ""  # EXPLOITED, BLOCKED or ALLOWLISTED
    attack_url: str = ""
    entry_point: str = ""
    vulnerability_name: str = ""
    process_group_id: str = ""
    extra: dict[str, str] = Field(default_factory=dict)

    @property
    def is_attack(self) -> bool:
        return self.trigger is TriggerEvent.ATTACK_DETECTED


def sample_attack_event() -> SecurityEvent:
    """The attack a preview shows when asked for one, and whose values the placeholder list shows."""
    return SecurityEvent(
        event_id="00000000-0000-4000-8000-000000000002",
        event_time=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        detail_type="Security Attack Detected",
        trigger=TriggerEvent.ATTACK_DETECTED,
        status="",
        title="SQL injection on orders-service",
        technology="JAVA",
        management_zones=(ManagementZone(id="123", name="production"),),
        affected_entities=(
            AffectedEntity(id="PROCESS_GROUP-1A2B", name="orders-service", type="PROCESS_GROUP"),
        ),
        attack_id="ATTACK-7C2E5F9A1B3D4E6F",
        attack_display_id="A-4321",
        attack_type="SQL_INJECTION",
        attack_state="EXPLOITED",
        attack_url="https://example.com/ui/security/attack/ATTACK-7C2E5F9A1B3D4E6F",
        entry_point="com.example.orders.OrderController.search(String)",
        vulnerability_name="SQL injection in OrderRepository.find",
        process_group_id="PROCESS_GROUP-1A2B",
    )


def sample_event() -> SecurityEvent:
    """The event used to check templates on save, for previews and for test sends."""
    return SecurityEvent(
        event_id="00000000-0000-4000-8000-000000000001",
        event_time=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        detail_type="Security Problem Opened",
        trigger=TriggerEvent.SECURITY_PROBLEM_OPENED,
        security_problem_id="11497873967941161718",
        display_id="S-1234",
        status="OPEN",
        title="Remote Code Execution in log4j-core",
        description='JNDI lookup in "log4j-core" lets a remote attacker run code.\nUpgrade to 2.17.1.',
        url="https://example.com/security/problem/11497873967941161718",
        technology="JAVA",
        vulnerability_type="THIRD_PARTY",
        cve_ids=("CVE-2021-44228",),
        risk_level=EventRiskLevel.CRITICAL,
        risk_score=10.0,
        base_risk_score=10.0,
        exposure="PUBLIC_NETWORK",
        public_exploit="AVAILABLE",
        data_assets="REACHABLE",
        management_zones=(ManagementZone(id="123", name="production"),),
        new_management_zones=(),
        affected_entities=(
            AffectedEntity(id="PROCESS_GROUP-1A2B", name="orders-service", type="PROCESS_GROUP"),
        ),
        tags=(Tag(key="owner", value="team-a"), Tag(key="pci")),
        first_seen_timestamp=1700000000000,
        last_updated_timestamp=1700000100000,
        source="Amazon Inspector",
        account_id="123456789012",
        region="eu-west-1",
        finding_type="PACKAGE_VULNERABILITY",
        fix_available="YES",
        console_url="https://console.aws.amazon.com/inspector/v2/home?region=eu-west-1#/findings",
    )
