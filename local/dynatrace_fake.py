"""A local fake of the Dynatrace Environment API v2 parts secnotify reads, over real HTTP on 127.0.0.1.

It serves the documented example responses (local/dynatrace_examples/, SOURCES.md names each
page) and scripted changes: a problem opened, its assessment changed, resolved, reopened, muted;
attacks; paging with ``nextPageKey`` (follow-up pages must carry nothing else, as documented);
injected faults (429 with ``Retry-After`` / ``X-RateLimit-Reset``, a 500 mid-poll, a redirect).

Endpoints: ``GET /api/v2/securityProblems``, ``/api/v2/securityProblems/{id}``,
``/api/v2/securityProblems/{id}/events``, ``/api/v2/attacks``, ``/api/v2/entities/{id}``. Every
request must carry ``Authorization: Api-Token <token>``.

Usage: ``python -m local.dynatrace_fake [--port 8765] [--token T] [--script]``
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import threading
import time
import traceback
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3

from secnotify.settings import get_settings
from secnotify.sources.dynatrace import wiring as dynatrace_wiring

EXAMPLES = Path(__file__).resolve().parent / "dynatrace_examples"
DEFAULT_TOKEN = "dt0c01.LOCALFAKE.token-for-the-local-fake-only"  # noqa: S105 (the fake's own)
_RELATIVE = re.compile(r"now-(\d+)([smhdw])")
_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


@dataclass
class Fault:
    """One injected answer, used by the next request whose path starts with ``path``."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    path: str = "/"


@dataclass
class Problem:
    summary: dict[str, Any]
    description: str = ""
    affected: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # oldest first


class DynatraceFake:
    """The environment's state; ``serve()`` puts it on 127.0.0.1. Mutators are thread-safe."""

    def __init__(self, token: str = DEFAULT_TOKEN, page_size_cap: int = 500) -> None:
        self.token = token
        self.page_size_cap = page_size_cap
        self.lock = threading.Lock()
        self.problems: dict[str, Problem] = {}
        self.attacks: dict[str, dict[str, Any]] = {}
        self.entities: dict[str, dict[str, Any]] = {}
        self.faults: deque[Fault] = deque()
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.pages: dict[str, tuple[str, list[Any], int]] = {}
        self.now_ms = int(time.time() * 1000)
        self.server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------ content
    def tick(self) -> int:
        """The fake's clock: each change happens a second after the previous one."""
        with self.lock:
            self.now_ms = max(self.now_ms + 1000, int(time.time() * 1000))
            return self.now_ms

    def load_examples(self) -> None:
        """The documented list, details, events and entity, as the environment's existing content."""
        listed = example("securityProblems-list.example.json")["securityProblems"]
        for summary in listed:
            self._add(Problem(summary=copy.deepcopy(summary)))
        details = example("securityProblem-details.example.json")
        events = example("securityProblem-events.example.json")["events"]
        self._add(Problem(summary=details, events=list(reversed(events))))
        entity = example("entity.example.json")
        self.entities[entity["entityId"]] = entity

    def _add(self, problem: Problem) -> None:
        with self.lock:
            self.problems[str(problem.summary["securityProblemId"])] = problem

    def add_entity(self, entity_id: str, name: str, entity_type: str) -> None:
        with self.lock:
            self.entities[entity_id] = {"entityId": entity_id, "displayName": name, "type": entity_type}

    def open(
        self,
        problem_id: str,
        title: str = "Remote Code Execution (RCE)",
        risk_level: str = "HIGH",
        risk_score: float = 8.1,
        affected: list[str] | None = None,
        zones: list[dict[str, str]] | None = None,
    ) -> int:
        at = self.tick()
        summary = {
            "securityProblemId": problem_id,
            "displayId": f"S-{int(problem_id) % 100000 if problem_id.isdigit() else 1}",
            "status": "OPEN",
            "muted": False,
            "externalVulnerabilityId": "SNYK-JAVA-ORGAPACHELOGGINGLOG4J-2314720",
            "vulnerabilityType": "THIRD_PARTY",
            "title": title,
            "packageName": "org.apache.logging.log4j:log4j-core",
            "url": f"https://fake.live.dynatrace.com/ui/security/problem/{problem_id}",
            "technology": "JAVA",
            "firstSeenTimestamp": at,
            "lastUpdatedTimestamp": at,
            "lastOpenedTimestamp": at,
            "riskAssessment": {
                "riskLevel": risk_level,
                "riskScore": risk_score,
                "baseRiskLevel": risk_level,
                "baseRiskScore": risk_score,
                "exposure": "PUBLIC_NETWORK",
                "dataAssets": "REACHABLE",
                "publicExploit": "AVAILABLE",
                "vulnerableFunctionUsage": "IN_USE",
            },
            "managementZones": zones
            if zones is not None
            else [{"id": "9130632296508575249", "name": "Easytravel"}],
            "cveIds": ["CVE-2021-44228"],
        }
        problem = Problem(
            summary=summary,
            description="A crafted lookup string makes the logger load and run remote code.",
            affected=list(affected or []),
        )
        problem.events.append(self._event(at, "SECURITY_PROBLEM_CREATED", summary))
        self._add(problem)
        return at

    def _event(self, at: int, reason: str, summary: dict[str, Any], **changes: Any) -> dict[str, Any]:
        risk = summary["riskAssessment"]
        snapshot = {
            "riskLevel": risk["riskLevel"],
            "riskScore": risk["riskScore"],
            "baseRiskScore": risk.get("baseRiskScore", risk["riskScore"]),
            "exposure": risk.get("exposure", "NOT_AVAILABLE"),
            "publicExploit": risk.get("publicExploit", "NOT_AVAILABLE"),
            "vulnerableFunctionUsage": risk.get("vulnerableFunctionUsage", "NOT_AVAILABLE"),
        }
        if changes:
            snapshot["changes"] = changes
        return {"timestamp": at, "reason": reason, "riskAssessmentSnapshot": snapshot}

    def _change(self, problem_id: str, reason: str, **summary_changes: Any) -> int:
        at = self.tick()
        with self.lock:
            problem = self.problems[problem_id]
            problem.summary.update(summary_changes)
            problem.summary["lastUpdatedTimestamp"] = at
            problem.events.append(self._event(at, reason, problem.summary))
        return at

    def change_assessment(self, problem_id: str, risk_level: str, risk_score: float) -> int:
        with self.lock:
            risk = dict(self.problems[problem_id].summary["riskAssessment"])
        delta = round(risk_score - float(risk["riskScore"]), 1)
        risk.update(riskLevel=risk_level, riskScore=risk_score)
        at = self.tick()
        with self.lock:
            problem = self.problems[problem_id]
            problem.summary["riskAssessment"] = risk
            problem.summary["lastUpdatedTimestamp"] = at
            problem.events.append(
                self._event(at, "ASSESSMENT_CHANGED", problem.summary, deltaRiskScore=delta)
            )
        return at

    def resolve(self, problem_id: str) -> int:
        return self._change(problem_id, "SECURITY_PROBLEM_RESOLVED", status="RESOLVED")

    def reopen(self, problem_id: str) -> int:
        return self._change(problem_id, "SECURITY_PROBLEM_REOPENED", status="OPEN")

    def mute(self, problem_id: str, muted: bool = True) -> int:
        reason = "SECURITY_PROBLEM_MUTED" if muted else "SECURITY_PROBLEM_UNMUTED"
        return self._change(problem_id, reason, muted=muted)

    def attack(self, attack_id: str, state: str = "EXPLOITED", **fields: Any) -> int:
        at = self.tick()
        attack = example("attack-details.model.json")
        attack.update(
            attackId=attack_id,
            displayId=f"A-{len(self.attacks) + 1}",
            displayName="JNDI injection",
            attackType="JNDI_INJECTION",
            state=state,
            technology="JAVA",
            timestamp=at,
        )
        attack.update(fields)
        with self.lock:
            self.attacks[attack_id] = attack
        return at

    def set_attack_state(self, attack_id: str, state: str) -> int:
        at = self.tick()
        with self.lock:
            self.attacks[attack_id].update(state=state, timestamp=at)
        return at

    def fail_next(self, status: int, path: str = "/", headers: dict[str, str] | None = None) -> None:
        """The next request under ``path`` gets ``status`` (429, 500, a 302 with ``Location``...)."""
        body = {"error": {"code": status, "message": "injected by the local fake"}}
        with self.lock:
            self.faults.append(Fault(status=status, headers=dict(headers or {}), body=body, path=path))

    def request_count(self, prefix: str = "/api/v2/") -> int:
        with self.lock:
            return sum(1 for path, _ in self.requests if path.startswith(prefix))

    # ------------------------------------------------------------ answers
    def answer(self, method: str, target: str, authorization: str | None) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        with self.lock:
            self.requests.append((parts.path, query))
            fault = next((f for f in self.faults if parts.path.startswith(f.path)), None)
            if fault is not None:
                self.faults.remove(fault)
        if authorization != f"Api-Token {self.token}":
            return 401, {}, {"error": {"code": 401, "message": "Missing or invalid token"}}
        if fault is not None:
            return fault.status, fault.headers, fault.body
        if method != "GET":
            return 405, {}, {"error": {"code": 405, "message": "method not allowed"}}
        return self._route(parts.path, {k: v[-1] for k, v in query.items()})

    def _route(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        segments = path.strip("/").split("/")
        if segments[:2] != ["api", "v2"] or len(segments) < 3:
            return _error(404, "not found")
        rest = segments[2:]
        if rest == ["securityProblems"]:
            return self._paged(query, "securityProblems", self._problem_list)
        if rest == ["attacks"]:
            return self._paged(query, "attacks", self._attack_list)
        if len(rest) == 2 and rest[0] == "securityProblems":
            return self._details(rest[1])
        if len(rest) == 3 and rest[0] == "securityProblems" and rest[2] == "events":
            return self._events(rest[1], query)
        if len(rest) == 2 and rest[0] == "entities":
            with self.lock:
                entity = self.entities.get(rest[1])
            return (200, {}, entity) if entity else _error(404, f"entity {rest[1]} not found")
        return _error(404, "not found")

    def _paged(self, query: dict[str, str], key: str, listing: Any) -> tuple[int, dict[str, str], Any]:
        page_key = query.get("nextPageKey")
        if page_key is not None:
            if len(query) > 1:
                return _error(400, "nextPageKey must be the only query parameter")
            with self.lock:
                found = self.pages.pop(page_key, None)
            if found is None or found[0] != key:
                return _error(400, "invalid nextPageKey")
            _, items, size = found
        else:
            try:
                size = int(query.get("pageSize", "100"))
                since = _timeframe(query.get("from", "now-30d"), self.now_ms)
            except ValueError:
                return _error(400, "invalid pageSize or from")
            if not 1 <= size <= self.page_size_cap:
                return _error(400, f"pageSize must be between 1 and {self.page_size_cap}")
            items = listing(since)
        page, remaining = items[:size], items[size:]
        next_key = None
        if remaining:
            next_key = uuid.uuid4().hex
            with self.lock:
                self.pages[next_key] = (key, remaining, size)
        return 200, {}, {"totalCount": len(items), "pageSize": size, "nextPageKey": next_key, key: page}

    def _problem_list(self, since: int) -> list[dict[str, Any]]:
        with self.lock:
            listed = [
                copy.deepcopy(p.summary)
                for p in self.problems.values()
                if int(p.summary["lastUpdatedTimestamp"]) >= since
            ]
        return sorted(listed, key=lambda s: -int(s["lastUpdatedTimestamp"]))

    def _attack_list(self, since: int) -> list[dict[str, Any]]:
        with self.lock:
            listed = [copy.deepcopy(a) for a in self.attacks.values() if int(a["timestamp"]) >= since]
        return sorted(listed, key=lambda a: -int(a["timestamp"]))

    def _details(self, problem_id: str) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            problem = self.problems.get(problem_id)
            if problem is None:
                return _error(404, f"security problem {problem_id} not found")
            details = copy.deepcopy(problem.summary)
            details["description"] = problem.description
            details["affectedEntities"] = list(problem.affected)
        return 200, {}, details

    def _events(self, problem_id: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        try:
            since = _timeframe(query.get("from", "now-30d"), self.now_ms)
        except ValueError:
            return _error(400, "invalid from")
        with self.lock:
            problem = self.problems.get(problem_id)
            if problem is None:
                return _error(404, f"security problem {problem_id} not found")
            events = [copy.deepcopy(e) for e in reversed(problem.events) if int(e["timestamp"]) >= since]
        return (
            200,
            {},
            {"events": events, "totalCount": len(events), "pageSize": len(events), "nextPageKey": None},
        )

    # ------------------------------------------------------------ HTTP
    def serve(self, port: int = 0) -> DynatraceFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._reply("GET")

            def do_POST(self) -> None:
                self._reply("POST")

            def _reply(self, method: str) -> None:
                status, headers, body = fake.answer(method, self.path, self.headers.get("Authorization"))
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: the token is never printed, and nor is anything else

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="dynatrace-fake", daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None, "serve() first"
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def shutdown(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _error(status: int, message: str) -> tuple[int, dict[str, str], Any]:
    return status, {}, {"error": {"code": status, "message": message}}


def _timeframe(value: str, now_ms: int) -> int:
    """Epoch milliseconds or ``now-<n><unit>``, as the API accepts them (ISO times are not needed here)."""
    if value.isdigit():
        return int(value)
    match = _RELATIVE.fullmatch(value)
    if match is None:
        raise ValueError(value)
    return now_ms - int(match.group(1)) * _UNITS_MS[match.group(2)]


def run_script(fake: DynatraceFake, pause_s: float, stop: threading.Event) -> None:
    """The walk-through: a problem opened, its risk raised, resolved and reopened, an attack."""
    problem = "4242424242424242424"
    fake.add_entity("PROCESS_GROUP-0A9A52EA262BC039", "easytravel-backend", "PROCESS_GROUP")
    steps = [
        lambda: fake.open(
            problem, risk_level="HIGH", risk_score=8.1, affected=["PROCESS_GROUP-0A9A52EA262BC039"]
        ),
        lambda: fake.change_assessment(problem, "CRITICAL", 9.8),
        lambda: fake.resolve(problem),
        lambda: fake.reopen(problem),
        lambda: fake.attack("7226758392016000000", state="EXPLOITED"),
    ]
    for step in steps:
        if stop.wait(pause_s):
            return
        step()


class LocalDynatrace:
    """`make run` with ``DYNATRACE_FAKE=1``: the fake on 127.0.0.1, its token as a secret on the
    embedded endpoint, and the Dynatrace ingest handler invoked every ``poll_s`` seconds (the
    template's DynatracePollMinutes), as EventBridge Scheduler invokes it in AWS."""

    def __init__(
        self,
        endpoint: str,
        region: str,
        function_environment: dict[str, str],
        poll_s: float | None,
        port: int = 0,
        script_pause_s: float | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.region = region
        self.function_environment = function_environment
        self.poll_s = poll_s
        self.port = port
        self.script_pause_s = script_pause_s
        self.fake = DynatraceFake(token=f"dt0c01.LOCAL{uuid.uuid4().hex[:12].upper()}.{uuid.uuid4().hex}")
        self.stop_event = threading.Event()
        self.secret_arn = ""
        self.polls: list[dict[str, Any]] = []

    def start(self) -> LocalDynatrace:
        self.fake.load_examples()
        self.fake.serve(self.port)
        secrets = boto3.client("secretsmanager", endpoint_url=self.endpoint, region_name=self.region)
        self.secret_arn = secrets.create_secret(
            Name=f"secnotify-dynatrace-token-{uuid.uuid4().hex[:8]}", SecretString=self.fake.token
        )["ARN"]
        os.environ.update(
            {
                **self.function_environment,
                "DYNATRACE_ENVIRONMENT_URL": self.fake.url,
                "DYNATRACE_TOKEN_SECRET_ARN": self.secret_arn,
                "DYNATRACE_ALLOW_LOOPBACK_HTTP": "true",
            }
        )
        get_settings.cache_clear()
        dynatrace_wiring.reset()  # its clients were built for the previous endpoint, if any
        if self.poll_s is not None:
            threading.Thread(target=self._loop, name="dynatrace-poller", daemon=True).start()
        if self.script_pause_s is not None:
            threading.Thread(
                target=run_script, args=(self.fake, self.script_pause_s, self.stop_event), daemon=True
            ).start()
        return self

    def poll_once(self) -> dict[str, Any]:
        from functions.dynatrace_ingest.app import lambda_handler
        from local.lambda_runtime import LocalContext

        result: dict[str, Any] = lambda_handler({}, LocalContext(function_name="secnotify-dynatrace-ingest"))
        self.polls.append(result)
        return result

    def _loop(self) -> None:
        assert self.poll_s is not None
        while not self.stop_event.is_set():
            try:
                self.poll_once()
            except Exception:
                traceback.print_exc()  # as Lambda logs a failed invocation; the next poll comes anyway
            self.stop_event.wait(self.poll_s)

    def stop(self) -> None:
        self.stop_event.set()
        self.fake.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--script", action="store_true", help="play the walk-through changes")
    args = parser.parse_args(argv)
    fake = DynatraceFake(token=args.token)
    fake.load_examples()
    fake.serve(args.port)
    print(f"Dynatrace fake on {fake.url}", flush=True)
    stop = threading.Event()
    if args.script:
        threading.Thread(target=run_script, args=(fake, 70.0, stop), daemon=True).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stop.set()
        fake.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
