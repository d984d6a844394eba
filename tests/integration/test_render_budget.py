"""A hostile template can neither stall the dispatcher nor crash the API (issue 8, section 2)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from secnotify.models.event import sample_event
from tests.conftest import ApiClient, load_event
from tests.integration.servers import Receiver
from tests.integration.test_dispatch import dispatch, drain, setup

# Harmless for the sample event every save is checked against, a bomb for any other event.
BOMB = '{% if EventId != "' + sample_event().event_id + '" %}{{ [[1]*100000]*3000 }}{% else %}{}{% endif %}'


def test_a_bomb_template_fails_alone_and_the_other_integration_gets_one_notification(
    api: ApiClient, stack: Any
) -> None:
    event = load_event("eventbridge/opened.json")
    with Receiver() as plain_rx, Receiver() as bomb_rx:
        plain = setup(api, plain_rx.url("/plain"))
        bomb = setup(api, bomb_rx.url("/bomb"), webhook={"payload": BOMB})  # saves: fine for the sample
        started = time.monotonic()
        result = dispatch(event)
        plain_rx.wait_for(1)
        elapsed = time.monotonic() - started
        time.sleep(0.3)
        assert len(plain_rx.requests) == 1
        assert bomb_rx.requests == []
    assert elapsed < 3.0, elapsed
    assert (result["counts"].get("delivered"), result["counts"].get("failed")) == (1, 1), result
    (plain_record,) = api.get(f"/integrations/{plain}/deliveries").json()["items"]
    assert plain_record["status"] == "SUCCEEDED" and plain_record["attempt"] == 1
    (bomb_record,) = api.get(f"/integrations/{bomb}/deliveries").json()["items"]
    assert bomb_record["status"] == "FAILED"
    assert "render budget exceeded" in bomb_record["error"]
    # not retried: nothing waits on the retry queue for it
    assert drain(stack.retry_queue_url) == []


def test_without_a_render_process_a_jinja_notification_is_retried_and_nothing_crashes(
    api: ApiClient, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secnotify.templating import worker

    event = load_event("eventbridge/opened.json")
    with Receiver() as plain_rx, Receiver() as jinja_rx:
        plain = setup(api, plain_rx.url("/plain"))
        jinja = setup(api, jinja_rx.url("/jinja"), webhook={"payload": '{"t": "{{ Title|upper }}"}'})
        # The platform fails, not the template: no interpreter can start.
        monkeypatch.setattr(worker, "POOL", worker.RenderPool(python="/bin/false"))
        result = dispatch(event)
        plain_rx.wait_for(1)
        assert jinja_rx.requests == []
        draft = api.get(f"/integrations/{jinja}").json()
        preview = api.post("/integrations/preview", {"integrationId": jinja})
    assert (result["counts"].get("delivered"), result["counts"].get("retrying")) == (1, 1), result
    (record,) = api.get(f"/integrations/{jinja}/deliveries").json()["items"]
    assert record["status"] == "RETRYING" and "render process unavailable" in record["error"]
    assert drain(stack.dead_letter_queue_url) == []  # tried again later (counted above), not dead-lettered
    assert api.get(f"/integrations/{plain}/deliveries").json()["items"][0]["status"] == "SUCCEEDED"
    assert preview.status == 200 and preview.json()["valid"] is False
    saved = api.put(
        f"/integrations/{jinja}", {k: draft[k] for k in ("displayName", "alertingProfileId", "webhook")}
    )
    assert saved.status == 400 and "render process unavailable" in saved.json()["message"], saved.text


def test_preview_and_test_send_with_a_custom_event_are_cut_with_a_clear_error(
    api: ApiClient, stack: Any
) -> None:
    with Receiver() as rx:
        iid = setup(api, rx.url("/bomb"), webhook={"payload": BOMB})
        detail = load_event("eventbridge/hostile.json")["detail"]
        preview = api.post("/integrations/preview", {"integrationId": iid, "event": detail})
        assert preview.status == 200, preview.text
        out = preview.json()
        assert out["valid"] is False
        assert out["errors"][0]["message"].startswith("render budget exceeded")
        sent = api.post(f"/integrations/{iid}/test", {"event": detail})
        assert sent.status == 200, sent.text
        result = sent.json()
        assert result["delivered"] is False and "render budget exceeded" in result["error"]
        assert rx.requests == []


def _refused_on_save_and_invalid_in_preview(api: ApiClient, payload: str, reason: str) -> None:
    pid = api.post("/alerting-profiles", {"name": "p"}).json()["id"]
    hook = {
        "url": "https://hooks.example.com/x",
        "headers": [{"name": "Content-Type", "value": "text/plain"}],
        "payload": payload,
    }
    draft = {"displayName": "deep", "alertingProfileId": pid, "webhook": hook}
    saved = api.post("/integrations", draft)
    assert saved.status == 400, saved.text
    assert reason in saved.json()["message"]
    preview = api.post("/integrations/preview", {"integration": draft})
    assert preview.status == 200, preview.text
    assert preview.json()["valid"] is False
    assert reason in preview.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "payload",
    [
        "{% for a in [1] %}" * 21 + "x" + "{% endfor %}" * 21,
        "{{ " + "(" * 150 + "1" + ")" * 150 + " }}",
        "{% if true %}" * 200 + "x" + "{% endif %}" * 200,
    ],
    ids=["21 nested for", "150 nested parentheses", "200 nested if"],
)
def test_too_deeply_nested_templates_are_400_on_save_and_an_error_in_preview(
    api: ApiClient, stack: Any, payload: str
) -> None:
    _refused_on_save_and_invalid_in_preview(api, payload, "nested more than")


@pytest.mark.parametrize(
    "payload",
    [
        "{{ Title" + "|e" * 2000 + " }}",
        "{{ 1" + "+1" * 2400 + " }}",
        "{{ event" + ".a" * 2400 + " }}",
        "{{ event" + "[0]" * 1600 + " }}",
        "{{ 1" + " and 1" * 800 + " }}",
        "{{ 1" + " if 1 else 1" * 400 + " }}",
    ],
    ids=["filter chain", "sum chain", "attribute chain", "subscript chain", "and chain", "if chain"],
)
def test_long_expression_chains_are_400_on_save_and_an_error_in_preview(
    api: ApiClient, stack: Any, payload: str
) -> None:
    # A flat chain opens no block or bracket, so only the tree's depth gives it away.
    _refused_on_save_and_invalid_in_preview(api, payload, "nested too deeply")


def test_a_template_that_outputs_an_object_is_refused_on_save(api: ApiClient, stack: Any) -> None:
    pid = api.post("/alerting-profiles", {"name": "p"}).json()["id"]
    hook = {
        "url": "https://hooks.example.com/x",
        "headers": [{"name": "Content-Type", "value": "text/plain"}],
        "payload": "{{ event|attr('items') }}",
    }
    resp = api.post("/integrations", {"displayName": "o", "alertingProfileId": pid, "webhook": hook})
    assert resp.status == 400, resp.text
    assert "cannot be output" in resp.text and "0x" not in resp.text
