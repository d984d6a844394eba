"""The dispatcher's log lines through the real handler: one structured line per notification
(integration, outcome, status code, attempt) and one per event with the match summary by reason,
never a secret."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.conftest import ApiClient, load_event
from tests.integration.servers import Receiver, Reply
from tests.integration.test_api_explain import hook, profile
from tests.integration.test_dispatch import SECRET, dispatch


def lines(records: list[logging.LogRecord]) -> list[dict[str, Any]]:
    """The records as the functions' Powertools logger writes them: one JSON object a line."""
    (handler,) = logging.getLogger("secnotify").handlers
    assert handler.formatter is not None
    return [json.loads(handler.formatter.format(r)) for r in records if r.name.startswith("secnotify")]


def test_one_line_per_notification_and_one_match_summary_per_event(
    api: ApiClient, stack: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import functions.dispatcher.app  # noqa: F401 - its Logger is the one the lines go through

    event = load_event("eventbridge/opened.json")  # CRITICAL
    # A receiver that echoes the secret in its answer: the record masks it, the log never has it.
    echo = Reply(status=400, body=f"bad token {SECRET}".encode())
    with Receiver() as ok, Receiver(default=echo) as refusing, Receiver(default=Reply(status=503)) as down:
        everything = profile(api, "all")
        ids = {
            "ok": hook(api, ok.url("/"), everything, "ok"),
            "refusing": hook(api, refusing.url("/"), everything, "refusing"),
            "down": hook(api, down.url("/"), everything, "down"),
        }
        hook(api, ok.url("/"), everything, "off", enabled=False)
        hook(api, ok.url("/"), profile(api, "low", enabledRiskLevels=["LOW"]), "low")
        hook(api, ok.url("/"), profile(api, "low too", enabledRiskLevels=["LOW"]), "low too")
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="secnotify"):
            assert dispatch(event)["counts"]["matched"] == 3
        logged = lines(caplog.records)
    out = json.dumps(logged)
    assert SECRET not in out and SECRET.split()[1] not in out
    (summary,) = [line for line in logged if line["message"] == "event matched"]
    assert summary["event_id"] == event["id"] and summary["matched"] == 3
    assert summary["not_matched"] == {"INTEGRATION_DISABLED": 1, "RISK_LEVEL": 2}
    notifications = {line["integration_id"]: line for line in logged if line["message"] == "notification"}
    assert set(notifications) == set(ids.values())
    seen = {name: notifications[iid] for name, iid in ids.items()}
    assert {name: (n["outcome"], n["status_code"], n["attempt"]) for name, n in seen.items()} == {
        "ok": ("DELIVERED", 200, 1),
        "refusing": ("FAILED", 400, 1),
        "down": ("RETRY_SCHEDULED", 503, 1),
    }
    for line in notifications.values():
        assert line["level"] == "INFO" and line["event_id"] == event["id"]
        assert line["webhook_id"].startswith("msg_") and line["delivery_id"]
