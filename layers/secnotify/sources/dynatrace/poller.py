"""One poll of a Dynatrace environment: what changed since the cursor, as canonical events on the bus.

Order of writes, so that a poll that dies anywhere loses nothing:
1. list problems changed since the cursor (newest first, following ``nextPageKey``);
2. for each problem whose ``lastUpdatedTimestamp`` is past its stored state: its details and
   events, the canonical events put on the bus, then its state written;
3. after the last page, the cursor moved to the newest change seen.
A poll that dies after a page lists the same problems again and skips those whose state says
they are done; one that dies between PutEvents and the state write puts the same changes again,
with the same ``dedupKey``, which the dispatcher uses for exactly-once. The first poll of an
environment records every problem as it stands, without notifications (no flood of history).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from secnotify.sources.dynatrace.client import (
    DynatraceClient,
    DynatraceError,
    Forbidden,
    NotFound,
    path_segment,
)
from secnotify.sources.dynatrace.mapping import (
    ATTACK_DETAIL_TYPE,
    ProblemState,
    UnreadableProblem,
    attack_detail,
    attack_key,
    baseline,
    changes,
    entity_type,
    problem_detail,
    safe_id,
)

PROBLEMS = "problems"
ATTACKS = "attacks"
OVERLAP_MS = 5 * 60_000  # re-list this much before the cursor: updates may land late
FIRST_LOOKBACK = "now-30d"
# The cursor never lags the first poll's window: a quiet environment still has a window start.
LOOKBACK_MS = 30 * 86_400_000
PROBLEM_FIELDS = "+riskAssessment,+managementZones"
DETAIL_FIELDS = "+description,+affectedEntities,+riskAssessment,+managementZones"
ATTACK_FIELDS = (
    "+attackTarget,+request,+entrypoint,+vulnerability,+securityProblem,+attacker,+managementZones,"
    "+affectedEntities"
)
MAX_CACHED_ENTITIES = 10_000


class StatePort(Protocol):
    def cursor(self, kind: str) -> int | None: ...
    def advance_cursor(self, kind: str, at: int) -> None: ...
    def problems(self, problem_ids: Sequence[str]) -> dict[str, ProblemState]: ...
    def put_problems(self, states: Mapping[str, ProblemState]) -> None: ...
    def attacks(self, attack_ids: Sequence[str]) -> dict[str, str]: ...
    def put_attacks(self, seen: Mapping[str, str]) -> None: ...


class BusPort(Protocol):
    def put(self, events: Sequence[tuple[str, Mapping[str, Any]]]) -> None: ...


def _no_checkpoint(point: str) -> None:
    """Where a poll may die: ``page`` (a page done), ``put`` (events on the bus, their state not
    yet written), ``cursor`` (every page done, the cursor not yet moved). Tests crash here."""
    return None


@dataclass
class PollReport:
    pages: int = 0
    problems_listed: int = 0
    problems_changed: int = 0
    events_put: int = 0
    attacks_put: int = 0
    unreadable: int = 0
    requests: int = 0
    throttled: int = 0
    baseline: bool = False
    complete: bool = False
    stopped_by: str = ""  # why the poll ended early: the error's message (never the token)

    def summary(self) -> dict[str, Any]:
        return dict(self.__dict__)


class EntityNames:
    """Entity ids as ``{id, name, type}``, through ``/api/v2/entities/{id}``, cached per process.
    Without ``entities.read`` (403), or for an entity that is gone, the id stands for the name."""

    def __init__(self) -> None:
        self.cache: dict[str, dict[str, str]] = {}
        self.forbidden = False

    def resolve(self, client: DynatraceClient, ids: Any) -> list[dict[str, str]]:
        out = []
        for raw in ids if isinstance(ids, list) else []:
            try:
                entity_id = safe_id(raw)
            except UnreadableProblem:
                continue
            out.append(self._one(client, entity_id))
        return out

    def _one(self, client: DynatraceClient, entity_id: str) -> dict[str, str]:
        cached = self.cache.get(entity_id)
        if cached is not None:
            return cached
        fallback = {"id": entity_id, "name": entity_id, "type": entity_type(entity_id)}
        if self.forbidden:
            return fallback
        try:
            doc = client.get(f"/api/v2/entities/{path_segment(entity_id)}")
        except Forbidden:
            self.forbidden = True
            return fallback
        except NotFound:
            self._keep(entity_id, fallback)
            return fallback
        except DynatraceError:
            return fallback  # not cached: the next poll asks again
        name, kind = doc.get("displayName"), doc.get("type")
        entity = {
            "id": entity_id,
            "name": name[:256] if isinstance(name, str) and name else entity_id,
            "type": kind[:64] if isinstance(kind, str) and kind else entity_type(entity_id),
        }
        self._keep(entity_id, entity)
        return entity

    def _keep(self, entity_id: str, entity: dict[str, str]) -> None:
        if len(self.cache) >= MAX_CACHED_ENTITIES:
            self.cache.clear()
        self.cache[entity_id] = entity


def _unseen(summary: Mapping[str, Any], since: int | None) -> ProblemState | None:
    """The state to start from for a problem the poller has no state of. One first seen within
    the listed window is new: all its events count. One seen before it existed before the
    baseline took note (its last update was older than the first poll looked): only what
    happened within the window counts, not its history."""
    first = _ms(summary.get("firstSeenTimestamp"))
    if since is None or (first is not None and first >= since):
        return None
    return ProblemState(event_at=since)


def _ms(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class Poller:
    def __init__(
        self,
        client: DynatraceClient,
        state: StatePort,
        bus: BusPort,
        entities: EntityNames | None = None,
        budget: int = 500,
        checkpoint: Callable[[str], None] = _no_checkpoint,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.state = state
        self.bus = bus
        self.entities = entities or EntityNames()
        self.budget = budget
        self.checkpoint = checkpoint
        self.clock = clock

    def poll(self) -> PollReport:
        """One poll; an API error or a spent budget ends it early (``complete`` False) and the
        next poll resumes from the cursor. Storage and bus errors propagate."""
        report = PollReport()
        self.client.reset_budget(self.budget)
        self.entities.forbidden = False
        try:
            self._problems(report)
            self._attacks(report)
            report.complete = True
        except DynatraceError as exc:  # BudgetExhausted too
            report.stopped_by = str(exc)
        report.requests, report.throttled = self.client.requests, self.client.throttled
        return report

    def _window_start(self) -> int:
        return int(self.clock() * 1000) - LOOKBACK_MS

    # ---------------------------------------------------------------- problems
    def _listing(
        self, kind: str, path: str, key: str, params: dict[str, str]
    ) -> Iterator[tuple[list[Any], int | None]]:
        cursor = self.state.cursor(kind)
        since = cursor - OVERLAP_MS if cursor else None
        params["from"] = str(since) if since and since > 0 else FIRST_LOOKBACK
        for page in self.client.pages(path, params, key):
            yield page, since

    def _problems(self, report: PollReport) -> None:
        first = self.state.cursor(PROBLEMS) is None
        report.baseline = first
        newest = 0
        params = {"sort": "-lastUpdatedTimestamp", "fields": PROBLEM_FIELDS}
        for page, since in self._listing(PROBLEMS, "/api/v2/securityProblems", "securityProblems", params):
            report.pages += 1
            listed: list[tuple[str, int, Mapping[str, Any]]] = []
            older = False
            for raw in page:
                try:
                    pid = safe_id(raw.get("securityProblemId") if isinstance(raw, Mapping) else None)
                except UnreadableProblem:
                    report.unreadable += 1
                    continue
                updated = _ms(raw.get("lastUpdatedTimestamp"))
                if updated is None:
                    report.unreadable += 1
                    continue
                if since is not None and updated < since:
                    older = True  # sorted newest first: the rest are older still
                    continue
                listed.append((pid, updated, raw))
                newest = max(newest, updated)
            report.problems_listed += len(listed)
            stored = self.state.problems([pid for pid, _, _ in listed])
            todo = [
                (pid, raw, stored.get(pid))
                for pid, updated, raw in listed
                if pid not in stored or updated > stored[pid].last_updated
            ]
            if first:
                self.state.put_problems({pid: baseline(raw) for pid, raw, _ in todo})
            else:
                for pid, raw, st in todo:
                    self._problem(pid, raw, st if st is not None else _unseen(raw, since), report)
            self.checkpoint("page")
            if older:
                break
        self.checkpoint("cursor")
        self.state.advance_cursor(PROBLEMS, max(newest, self._window_start()))

    def _problem(
        self, pid: str, summary: Mapping[str, Any], st: ProblemState | None, report: PollReport
    ) -> None:
        seg = path_segment(pid)
        try:
            details = self.client.get(f"/api/v2/securityProblems/{seg}", {"fields": DETAIL_FIELDS})
        except NotFound:
            return  # gone between the list and now
        if details.get("securityProblemId") not in (pid, summary.get("securityProblemId")):
            report.unreadable += 1
            return
        since = st.event_at if st else _ms(summary.get("firstSeenTimestamp"))
        events = self._events(seg, since)
        found, new_state = changes(events, st, details)
        if found:
            entities = self.entities.resolve(self.client, details.get("affectedEntities"))
            try:
                puts = [(c.detail_type, problem_detail(details, c, entities)) for c in found]
            except UnreadableProblem:
                report.unreadable += 1
                return
            self.bus.put(puts)
            report.problems_changed += 1
            report.events_put += len(puts)
            self.checkpoint("put")
        self.state.put_problems({pid: new_state})

    def _events(self, seg: str, since: int | None) -> list[Any]:
        params = {"from": str(since)} if since else {}
        doc = self.client.get(f"/api/v2/securityProblems/{seg}/events", params)
        events = list(doc.get("events") or []) if isinstance(doc.get("events"), list) else []
        while isinstance(doc.get("nextPageKey"), str) and doc["nextPageKey"]:
            doc = self.client.get(
                f"/api/v2/securityProblems/{seg}/events", {"nextPageKey": doc["nextPageKey"]}
            )
            more = doc.get("events")
            events.extend(more if isinstance(more, list) else [])
        return events

    # ---------------------------------------------------------------- attacks
    def _attacks(self, report: PollReport) -> None:
        first = self.state.cursor(ATTACKS) is None
        newest = 0
        params = {"sort": "-timestamp", "fields": ATTACK_FIELDS}
        for page, since in self._listing(ATTACKS, "/api/v2/attacks", "attacks", params):
            report.pages += 1
            listed: list[tuple[str, str, dict[str, Any]]] = []
            older = False
            for raw in page:
                try:
                    aid, state, at = attack_key(raw if isinstance(raw, Mapping) else {})
                    detail = attack_detail(raw, self.client.base)
                except UnreadableProblem:
                    report.unreadable += 1
                    continue
                if since is not None and at < since:
                    older = True
                    continue
                listed.append((aid, f"{state}:{at}", detail))
                newest = max(newest, at)
            stored = self.state.attacks([aid for aid, _, _ in listed])
            fresh = [
                (aid, seen, raw)
                for aid, seen, raw in listed
                if stored.get(aid, "").partition(":")[0] != seen.partition(":")[0]
            ]
            if fresh and not first:
                puts = [(ATTACK_DETAIL_TYPE, detail) for _, _, detail in fresh]
                self.bus.put(puts)
                report.attacks_put += len(puts)
                self.checkpoint("put")
            self.state.put_attacks({aid: seen for aid, seen, _ in fresh})
            self.checkpoint("page")
            if older:
                break
        self.checkpoint("cursor")
        self.state.advance_cursor(ATTACKS, max(newest, self._window_start()))
