"""The Dynatrace poller's state in the table, its token in Secrets Manager, and its events on the bus.

Keys (README "Dynatrace ingest"):
- ``DYNATRACE`` / ``CURSOR#<kind>``: the newest ``lastUpdatedTimestamp`` (problems) or attack
  ``timestamp`` a complete poll has seen; it only moves forward.
- ``DYNATRACE#PROBLEM#<id>`` / ``STATE``: what was last handled of one security problem.
- ``DYNATRACE#ATTACK#<id>`` / ``STATE``: the last state of one attack that was put on the bus.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from secnotify.sources.dynatrace.mapping import ProblemState
from secnotify.storage.client import aws_client
from secnotify.storage.conditional import batch_write, conditional

CURSOR_PK = "DYNATRACE"
STATE_TTL_S = 400 * 86400
_BATCH_GET = 100
_PUT_EVENTS_BATCH = 10
MAX_ENTRY_BYTES = 256 * 1024


def _key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def cursor_key(kind: str) -> dict[str, dict[str, str]]:
    return _key(CURSOR_PK, f"CURSOR#{kind}")


def problem_key(problem_id: str) -> dict[str, dict[str, str]]:
    return _key(f"DYNATRACE#PROBLEM#{problem_id}", "STATE")


def attack_key(attack_id: str) -> dict[str, dict[str, str]]:
    return _key(f"DYNATRACE#ATTACK#{attack_id}", "STATE")


class DynamoDynatraceState:
    def __init__(self, client: Any, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.table_name = table_name
        self.clock = clock

    def _ttl(self) -> dict[str, str]:
        return {"N": str(int(self.clock()) + STATE_TTL_S)}

    def cursor(self, kind: str) -> int | None:
        item = self.client.get_item(TableName=self.table_name, Key=cursor_key(kind), ConsistentRead=True).get(
            "Item"
        )
        return int(item["at"]["N"]) if item else None

    def advance_cursor(self, kind: str, at: int) -> None:
        """Move the cursor to ``at``; a cursor already further on stays where it is."""
        conditional(
            lambda: self.client.put_item(
                TableName=self.table_name,
                Item={**cursor_key(kind), "at": {"N": str(at)}, "writtenAt": {"N": str(int(self.clock()))}},
                ConditionExpression="attribute_not_exists(pk) OR #at <= :at",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":at": {"N": str(at)}},
            )
        )

    def problems(self, problem_ids: Sequence[str]) -> dict[str, ProblemState]:
        found: dict[str, ProblemState] = {}
        for item in self._batch_get([problem_key(pid) for pid in dict.fromkeys(problem_ids)]):
            doc = json.loads(item["doc"]["S"])
            pid = item["pk"]["S"].removeprefix("DYNATRACE#PROBLEM#")
            found[pid] = ProblemState(
                last_updated=int(doc["lastUpdated"]),
                event_at=int(doc["eventAt"]),
                event_reasons=tuple(doc.get("eventReasons", ())),
                status=str(doc.get("status", "")),
                risk_level=str(doc.get("riskLevel", "")),
            )
        return found

    def put_problems(self, states: Mapping[str, ProblemState]) -> None:
        self._batch_put(
            {
                **problem_key(pid),
                "doc": {"S": json.dumps(_problem_doc(state), separators=(",", ":"))},
                "ttl": self._ttl(),
            }
            for pid, state in states.items()
        )

    def attacks(self, attack_ids: Sequence[str]) -> dict[str, str]:
        """The stored ``<state>:<timestamp>`` of each attack seen before."""
        return {
            item["pk"]["S"].removeprefix("DYNATRACE#ATTACK#"): item["seen"]["S"]
            for item in self._batch_get([attack_key(aid) for aid in dict.fromkeys(attack_ids)])
        }

    def put_attacks(self, seen: Mapping[str, str]) -> None:
        self._batch_put(
            {**attack_key(aid), "seen": {"S": value}, "ttl": self._ttl()} for aid, value in seen.items()
        )

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), _BATCH_GET):
            request: dict[str, Any] = {
                self.table_name: {"Keys": keys[start : start + _BATCH_GET], "ConsistentRead": True}
            }
            for attempt in range(8):
                resp = self.client.batch_get_item(RequestItems=request)
                items.extend(resp.get("Responses", {}).get(self.table_name, []))
                request = resp.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
            if request:
                raise RuntimeError("DynamoDB left keys unread after retries")
        return items

    def _batch_put(self, items: Iterable[dict[str, Any]]) -> None:
        batch_write(self.client, self.table_name, [{"PutRequest": {"Item": item}} for item in items])


def _problem_doc(state: ProblemState) -> dict[str, Any]:
    return {
        "lastUpdated": state.last_updated,
        "eventAt": state.event_at,
        "eventReasons": list(state.event_reasons),
        "status": state.status,
        "riskLevel": state.risk_level,
    }


class EventBusPutter:
    """PutEvents in batches of ten; any entry the bus refuses fails the whole call, so the
    caller writes no state for it and the next poll puts it again (its dedupKey makes that safe)."""

    def __init__(self, client: Any, bus_name: str, source: str) -> None:
        self.client = client
        self.bus_name = bus_name
        self.source = source
        self.calls = 0

    def put(self, events: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        entries: list[dict[str, Any]] = [
            {
                "Source": self.source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, separators=(",", ":"), ensure_ascii=False),
                "EventBusName": self.bus_name,
                "Resources": [],
            }
            for detail_type, detail in events
        ]
        for entry in entries:
            if (
                len(entry["Detail"].encode()) + len(entry["DetailType"]) + len(entry["Source"])
                > MAX_ENTRY_BYTES
            ):
                raise ValueError("an event is larger than EventBridge accepts")
        for start in range(0, len(entries), _PUT_EVENTS_BATCH):
            self.calls += 1
            resp = self.client.put_events(Entries=entries[start : start + _PUT_EVENTS_BATCH])
            if resp.get("FailedEntryCount"):
                codes = sorted(
                    {str(e.get("ErrorCode")) for e in resp.get("Entries", []) if e.get("ErrorCode")}
                )
                raise RuntimeError(
                    f"EventBridge refused {resp['FailedEntryCount']} entries: {', '.join(codes)}"
                )


class TokenSecret:
    """The API token from Secrets Manager, kept for ``ttl_s`` so a rotated token is picked up.
    The value is either the token itself or a JSON object with a ``token`` field."""

    def __init__(self, secret_id: str, client: Any = None, ttl_s: float = 300.0) -> None:
        self.secret_id = secret_id
        self._client = client
        self.ttl_s = ttl_s
        self._value: str | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenSecret({self.secret_id!r})"

    def value(self) -> str:
        with self._lock:
            if self._value is None or time.monotonic() - self._read_at > self.ttl_s:
                client = self._client or aws_client("secretsmanager")
                raw = client.get_secret_value(SecretId=self.secret_id).get("SecretString") or ""
                self._value = _token_of(raw)
                self._read_at = time.monotonic()
            return self._value


def _token_of(raw: str) -> str:
    text = raw.strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        token = doc.get("token") if isinstance(doc, dict) else None
        if not isinstance(token, str):
            raise ValueError("the Dynatrace token secret is JSON without a string 'token' field")
        text = token.strip()
    if not text or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ValueError("the Dynatrace token secret is empty or holds spaces or control characters")
    return text
