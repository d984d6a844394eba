"""Every key of the single table, in one place.

Layout (pk / sk):
- ``CONFIG`` / ``PROFILE#<id>``, ``INTEGRATION#<id>``, ``COUNTER#<kind>``, ``KEY#<name>``: the
  whole configuration lives in one partition so the dispatcher loads it with a single query.
- ``EVENT#<eventId>`` / ``EVENT``: the normalised event, kept for retries and redelivery; it
  carries the fan-out lease.
- ``CLAIM#<eventId>`` / ``INT#<integrationId>``: where each notification of the event stands.
  A large fan-out spreads these over shards (``claim_shards``): shard 0 is ``CLAIM#<eventId>``,
  shard k > 0 is ``CLAIM<k>#<eventId>``; the event item's ``shards`` says how many (absent: 1).
- ``DELIVERIES#<integrationId>`` / ``<deliveryId>``: the delivery log, newest first by id. Each
  record also carries the keys of the ``ByEvent`` index (``eventPk`` / ``eventSk``):
  ``EVENTLOG<k>#<eventId>`` / ``<integrationId>#<deliveryId>``, ``k`` one of ``EVENT_LOG_SHARDS``
  chosen by the integration id, so an event's records list across integrations and a 1,000-way
  fan-out does not write them all to one index key.
- ``FINDING#<findingId>`` / ``STATE``: what was last seen of an AWS finding (status, risk level,
  zones), to tell a change from a re-send.
- ``NAMES`` / ``<kind>#<normalised name>``: the lock that keeps a profile's or an integration's
  name unique, held by the object's id; ``NAMES`` / ``BACKFILLED``: the names of objects stored
  before the locks existed have been locked. Out of ``CONFIG``, so the dispatcher never loads them.
- ``AUDIT`` / ``<ISO time>#<entryId>``: the audit trail of configuration changes, newest last.
- ``RECEIVER#<integrationId>`` / ``PROBLEM#<problemId>``: the reference the receiver returned for
  a problem (README "Resolving at another URL"), one item per (problem, integration); a problem id
  longer than a sort key should carry is named by its digest.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from typing import Any

Key = dict[str, dict[str, str]]

CONFIG_PK = "CONFIG"
NAMES_PK = "NAMES"
AUDIT_PK = "AUDIT"
CLAIM_SK_PREFIX = "INT#"


def _key(pk: str, sk: str) -> Key:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def config_sk_prefix(kind: str) -> str:
    """Where the items of one configuration kind (a ``ConfigKind`` value) begin in the partition."""
    return f"{kind}#"


def config_sk(kind: str, item_id: str) -> str:
    return f"{config_sk_prefix(kind)}{item_id}"


def config_key(kind: str, item_id: str) -> Key:
    return _key(CONFIG_PK, config_sk(kind, item_id))


def counter_key(kind: str) -> Key:
    return _key(CONFIG_PK, f"COUNTER#{kind}")


def named_key(name: str) -> Key:
    """A key the stack keeps in the configuration partition (the page-token key, the data key)."""
    return _key(CONFIG_PK, f"KEY#{name}")


def name_lock_key(kind: str, normalised_name: str) -> Key:
    """A normalised name can grow far past its 100 characters (NFKC turns one character into
    up to 18); one longer than a sort key should carry is locked by its digest instead."""
    raw = normalised_name.encode("utf-8", "surrogatepass")
    part = normalised_name if len(raw) <= 512 else "sha256:" + hashlib.sha256(raw).hexdigest()
    return _key(NAMES_PK, f"{kind}#{part}")


def names_backfilled_key() -> Key:
    return _key(NAMES_PK, "BACKFILLED")


def audit_key(at: str, entry_id: str) -> Key:
    return _key(AUDIT_PK, f"{at}#{entry_id}")


def receiver_reference_key(integration_id: str, problem_id: str) -> Key:
    raw = problem_id.encode("utf-8", "surrogatepass")
    part = problem_id if len(raw) <= 512 else "sha256:" + hashlib.sha256(raw).hexdigest()
    return _key(f"RECEIVER#{integration_id}", f"PROBLEM#{part}")


def event_key(event_id: str) -> Key:
    return _key(f"EVENT#{event_id}", "EVENT")


def claims_pk(event_id: str, shard: int = 0) -> str:
    """The partition of one shard of an event's states. Shard 0 keeps the key of an unsharded
    event, so items written before sharding read as shard 0 of 1. Other shards put their number
    where that key has its ``#``: an event id may hold ``#``, but no ``CLAIM#...`` key is ever
    another event's ``CLAIM<k>#...``."""
    return f"CLAIM#{event_id}" if shard == 0 else f"CLAIM{shard}#{event_id}"


def claim_shard(integration_id: str, shards: int) -> int:
    """Which of an event's ``shards`` holds this integration's state: stable across processes."""
    return zlib.crc32(integration_id.encode("utf-8", "surrogatepass")) % shards if shards > 1 else 0


def claim_key(event_id: str, integration_id: str, shards: int = 1) -> Key:
    shard = claim_shard(integration_id, shards)
    return _key(claims_pk(event_id, shard), f"{CLAIM_SK_PREFIX}{integration_id}")


def finding_key(finding_id: str) -> Key:
    return _key(f"FINDING#{finding_id}", "STATE")


def deliveries_pk(integration_id: str) -> str:
    return f"DELIVERIES#{integration_id}"


def delivery_key(integration_id: str, delivery_id: str) -> Key:
    return _key(deliveries_pk(integration_id), delivery_id)


EVENT_INDEX = "ByEvent"
EVENT_LOG_SHARDS = 4


def event_log_shard(integration_id: str) -> int:
    return zlib.crc32(integration_id.encode("utf-8", "surrogatepass")) % EVENT_LOG_SHARDS


def event_log_pk(event_id: str, shard: int) -> str:
    return f"EVENTLOG{shard}#{event_id}"


def event_log_keys(event_id: str, integration_id: str, delivery_id: str) -> dict[str, dict[str, str]]:
    """The ``ByEvent`` index keys of one delivery record."""
    return {
        "eventPk": {"S": event_log_pk(event_id, event_log_shard(integration_id))},
        "eventSk": {"S": f"{integration_id}#{delivery_id}"},
    }


def string(item: dict[str, Any], name: str, default: str = "") -> str:
    return str(item.get(name, {}).get("S", default))


def number(item: dict[str, Any], name: str, default: float = 0.0) -> float:
    raw = item.get(name, {}).get("N")
    return float(raw) if raw is not None else default


def dumps(doc: Mapping[str, Any]) -> str:
    """A document as stored in a ``doc`` attribute: compact JSON, UTF-8 kept as is."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
