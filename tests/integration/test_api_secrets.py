"""Named secrets end to end: set through the API, used as ``{Secret[name]}`` in a payload and in a
URL's query, delivered over real HTTP, and found nowhere else (responses, delivery records, the
stored item, logs, queues)."""

from __future__ import annotations

import json
import logging
import zlib
from typing import Any

import boto3
import pytest

from tests.conftest import ApiClient, load_event
from tests.integration.servers import Receiver, Reply
from tests.integration.test_api_explain import table_items
from tests.integration.test_dispatch import dispatch, drain, setup

ROUTING_KEY = "R0utingKey4f1c9a7be2d84c06a5f3e9"
PAGERDUTY = json.dumps(
    {
        "routing_key": "{Secret[routingKey]}",
        "event_action": "trigger",
        "dedup_key": "{SecurityProblemId}",
        "payload": {
            "summary": "{Title}",
            "source": "secnotify",
            "severity": "critical",
            "custom_details": {"cvss": "{CvssScore}", "entities": "{AffectedEntities}"},
        },
    }
).replace('"{CvssScore}"', "{CvssScore}")
# A Teams workflow signature as a user might paste it decoded: `+`, `/` and `=` must be encoded.
TEAMS_SIG = "pQ7+vX/2mK9=TeamsSig_0123456789"
TEAMS_SIG_IN_URL = "pQ7%2BvX%2F2mK9%3DTeamsSig_0123456789"
TEAMS_QUERY = "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={Secret[teamsSig]}"


def _pagerduty(api: ApiClient, rx: Receiver) -> str:
    return setup(
        api,
        rx.url("/v2/enqueue"),
        secrets=[{"name": "routingKey", "value": ROUTING_KEY}],
        webhook={"payload": PAGERDUTY},
    )


def _stored_item(stack: Any, iid: str) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb").get_item(
        TableName=stack.table_name, Key={"pk": {"S": "CONFIG"}, "sk": {"S": f"INTEGRATION#{iid}"}}
    )["Item"]
    return item


def _editable(view: dict[str, Any]) -> dict[str, Any]:
    """A GET view as a PUT body: the server's own fields and the signing-secret state left out."""
    body = dict(view)
    for name in ("id", "version", "createdAt", "updatedAt", "hasSigningSecret", "signingSecret"):
        body.pop(name, None)
    return body


def test_pagerduty_routing_key_is_delivered_and_appears_nowhere_else(
    api: ApiClient, stack: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    from secnotify.service.wiring import api_services

    caplog.set_level(logging.DEBUG)  # more than production logs: urllib3's request lines too
    # A receiver that echoes the key back, as a careless one might: the echo must be masked.
    echo = json.dumps({"status": "success", "message": f"Event processed for {ROUTING_KEY}"}).encode()
    responses: list[str] = []
    with Receiver(default=Reply(status=202, body=echo)) as rx:
        iid = _pagerduty(api, rx)
        created = api.get(f"/integrations/{iid}")
        responses += [created.text, api.get("/integrations").text]
        assert created.json()["secrets"] == [{"name": "routingKey", "set": True}]
        sent = api.post(f"/integrations/{iid}/test")
        responses.append(sent.text)
        assert sent.json()["delivered"] is True, sent.text
        assert "***" in sent.json()["responseBody"]
        # Before the event is handled (a handled event reads as UNCHANGED).
        explained = api.post("/events/explain", {"event": load_event("eventbridge/opened.json")})
        responses.append(explained.text)
        assert dispatch(load_event("eventbridge/opened.json"))["counts"]["delivered"] == 1
        preview = api.post("/integrations/preview", {"integrationId": iid})
        responses.append(preview.text)
        test_request, event_request = rx.wait_for(2)
    # The receiver got the key, in the body, as a JSON string.
    for request in (test_request, event_request):
        body = json.loads(request.body)
        assert body["routing_key"] == ROUTING_KEY and body["event_action"] == "trigger"
        assert isinstance(body["payload"]["custom_details"]["cvss"], float)
    # A preview shows where the key goes, never the key.
    assert json.loads(preview.json()["body"])["routing_key"] == "***" and preview.json()["valid"] is True
    # So does explain, for the integration the event reaches: the body it would get, key masked.
    (item,) = [i for i in explained.json()["items"] if i["integrationId"] == iid]
    assert item["matched"] is True and json.loads(item["preview"])["routing_key"] == "***"
    deliveries = api.get(f"/integrations/{iid}/deliveries")
    assert len(deliveries.json()["items"]) == 2
    responses.append(deliveries.text)
    event_id = next(r["eventId"] for r in deliveries.json()["items"] if r["kind"] == "event")
    responses += [
        api.get(f"/events/{event_id}/deliveries").text,
        api.get("/audit").text,
        api.get("/config/export").text,
    ]
    for text in responses:
        assert ROUTING_KEY not in text
    # Nowhere in the table either: records, their compressed bodies, claims, audit, locks.
    for stored_item in table_items(stack):
        body = stored_item.pop("body", None)
        if body is not None:
            assert ROUTING_KEY.encode() not in zlib.decompress(bytes(body["B"]))
        assert ROUTING_KEY not in json.dumps(stored_item, default=str)
    # Sealed at rest, bound to this integration and this secret's name.
    item = _stored_item(stack, iid)
    assert ROUTING_KEY not in json.dumps(item)
    sealed = json.loads(item["doc"]["S"])["secrets"][0]
    assert sealed["name"] == "routingKey" and sealed["value"].startswith("sn1:")
    assert (
        api_services().integrations.secrets.open(sealed["value"], f"{iid}|secret:routingKey") == ROUTING_KEY
    )
    records = [json.dumps(r.__dict__, default=str) for r in caplog.records]
    assert any("event dispatched" in r for r in records)  # the handlers did log
    assert any("/v2/enqueue" in r for r in records)  # and so did urllib3
    captured = capfd.readouterr()
    for text in [*records, captured.out, captured.err]:
        assert ROUTING_KEY not in text
    assert ROUTING_KEY not in json.dumps(drain(stack.retry_queue_url) + drain(stack.dead_letter_queue_url))


def test_a_jinja_template_reads_a_secret_by_attribute_or_key(api: ApiClient, stack: Any) -> None:
    payload = '{"a": {{ Secret.routingKey }}, "b": "{{ Secret[\'routingKey\'] | lower }}"}'
    with Receiver() as rx:
        iid = setup(
            api,
            rx.url("/"),
            secrets=[{"name": "routingKey", "value": 'K"ey\\Value'}],
            webhook={"payload": payload},
        )
        assert api.post(f"/integrations/{iid}/test").json()["delivered"] is True
        (request,) = rx.wait_for(1)
    assert json.loads(request.body) == {"a": 'K"ey\\Value', "b": 'k"ey\\value'}


def test_teams_signature_in_the_query_is_filled_and_masked_in_what_the_receiver_says(
    api: ApiClient, stack: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"no workflow for sig={TEAMS_SIG_IN_URL} ({TEAMS_SIG})".encode()
    redirect = Reply(
        status=302, headers=(("Location", f"https://elsewhere.example/x?sig={TEAMS_SIG_IN_URL}"),)
    )
    with Receiver() as rx:
        rx.reply(Reply(status=401, body=echo))
        rx.reply(redirect)
        iid = setup(
            api,
            rx.url("/workflows/abc/triggers/manual/paths/invoke") + TEAMS_QUERY,
            secrets=[{"name": "teamsSig", "value": TEAMS_SIG}],
        )
        view = api.get(f"/integrations/{iid}").json()
        refused = api.post(f"/integrations/{iid}/test")
        redirected = api.post(f"/integrations/{iid}/test")
        first, _second = rx.wait_for(2)
    # The URL as configured, placeholder and all; the receiver got the signature, encoded.
    assert view["webhook"]["url"].endswith(TEAMS_QUERY)
    assert first.path == (
        "/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01"
        f"&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={TEAMS_SIG_IN_URL}"
    )
    assert refused.json()["delivered"] is False and refused.json()["statusCode"] == 401
    assert refused.json()["responseBody"] == "no workflow for sig=*** (***)"
    assert redirected.json()["error"] == "redirect to https://elsewhere.example/x?sig=*** not followed"
    records = api.get(f"/integrations/{iid}/deliveries").text
    logged = [r.getMessage() for r in caplog.records]
    assert any("invoke?api-version=2016-06-01" in line and "sig=***" in line for line in logged), logged
    for text in [refused.text, redirected.text, records, *logged]:
        assert TEAMS_SIG not in text and TEAMS_SIG_IN_URL not in text


def test_a_value_already_percent_encoded_goes_into_the_url_as_it_is(api: ApiClient, stack: Any) -> None:
    with Receiver() as rx:
        iid = setup(
            api, rx.url("/hook?sig={Secret[sig]}&x=1"), secrets=[{"name": "sig", "value": "a%2Fb-c_d.e~f"}]
        )
        assert api.post(f"/integrations/{iid}/test").json()["delivered"] is True
        (request,) = rx.wait_for(1)
    assert request.path == "/hook?sig=a%2Fb-c_d.e~f&x=1"


def test_get_then_put_keeps_every_named_secret(api: ApiClient, stack: Any) -> None:
    from secnotify.service.wiring import api_services

    with Receiver() as rx:
        iid = setup(
            api,
            rx.url("/hook?sig={Secret[sig]}"),
            secrets=[{"name": "routingKey", "value": ROUTING_KEY}, {"name": "sig", "value": "s1g-value"}],
            webhook={"payload": PAGERDUTY},
        )
        view = api.get(f"/integrations/{iid}").json()
        edited = _editable(view) | {"displayName": "renamed"}
        resp = api.put(f"/integrations/{iid}", edited)
        assert resp.status == 200, resp.text
        # The other keep form, without `set`, keeps too.
        edited["secrets"] = [{"name": "routingKey"}, {"name": "sig"}]
        assert api.put(f"/integrations/{iid}", edited).status == 200
        stored = api_services().integrations.get_stored(iid)
        assert [(s.name, s.value) for s in stored.secrets] == [
            ("routingKey", ROUTING_KEY),
            ("sig", "s1g-value"),
        ]
        assert api.post(f"/integrations/{iid}/test").json()["delivered"] is True
        (request,) = rx.wait_for(1)
    assert json.loads(request.body)["routing_key"] == ROUTING_KEY and request.path == "/hook?sig=s1g-value"
    # A new value replaces; a secret left out is gone, so the URL that uses it is refused.
    edited["secrets"] = [{"name": "routingKey", "value": "new-key"}, {"name": "sig", "set": True}]
    assert api.put(f"/integrations/{iid}", edited).status == 200
    assert [s.value for s in api_services().integrations.get_stored(iid).secrets] == ["new-key", "s1g-value"]
    edited["secrets"] = [{"name": "routingKey", "set": True}]
    dropped = api.put(f"/integrations/{iid}", edited)
    assert dropped.status == 400 and dropped.json()["message"].startswith("webhook.url: unknown secret sig")
    edited["webhook"]["url"] = rx.url("/hook")
    assert api.put(f"/integrations/{iid}", edited).status == 200
    assert [s.name for s in api_services().integrations.get_stored(iid).secrets] == ["routingKey"]


def test_a_new_origin_needs_each_kept_secret_again(api: ApiClient, stack: Any) -> None:
    iid = setup(
        api,
        "https://events.pagerduty.com/v2/enqueue",
        secrets=[{"name": "routingKey", "value": ROUTING_KEY}, {"name": "unused", "value": "u"}],
        webhook={"payload": PAGERDUTY},
    )
    moved = _editable(api.get(f"/integrations/{iid}").json())
    moved["webhook"]["url"] = "https://attacker.example/v2/enqueue"
    moved["webhook"]["headers"][1] = {"name": "Authorization", "value": "Bearer new", "secret": True}
    resp = api.put(f"/integrations/{iid}", moved)
    assert resp.status == 400, resp.text
    answer = resp.json()
    assert "secret routingKey" in answer["message"] and "secret unused" in answer["message"]
    assert answer["field"] == "webhook.url"
    assert {e["field"] for e in answer["errors"]} == {"secrets[0].value", "secrets[1].value"}
    moved["secrets"] = [{"name": "routingKey", "value": "another-key"}, {"name": "unused", "value": "v"}]
    assert api.put(f"/integrations/{iid}", moved).status == 200


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        # a secret kept that was never stored
        ({"secrets": [{"name": "ghost", "set": True}]}, "secrets[0].value", "required for secret ghost"),
        (
            {"webhook": {"payload": '{"k": "{Secret[missing]}"}'}},
            "webhook.payload",
            "unknown secret: missing",
        ),
        (
            {"webhook": {"payload": '{"k": "{{ Secret.missing }}"}'}},
            "webhook.payload",
            "unknown secret: missing",
        ),
        (
            {"webhook": {"url": "https://h.example/x?sig={Secret[missing]}"}},
            "webhook.url",
            "unknown secret missing",
        ),
        (
            {"webhook": {"url": "https://{Secret[key]}.example/x"}},
            "webhook.url",
            "never in the scheme, host or port",
        ),
        (
            {"webhook": {"url": "https://h.example:{Secret[key]}/x"}},
            "webhook.url",
            "never in the scheme, host or port",
        ),
        ({"webhook": {"url": "https://h.example/x#{Secret[key]}"}}, "webhook.url", "not the fragment"),
        (
            {"webhook": {"url": "https://h.example/{Secret[no-such]}"}},
            "webhook.url",
            "does not name a secret",
        ),
        (
            {"webhook": {"payload": '{"k": "{{ Secret }}"}'}},
            "webhook.payload",
            "may only be used as Secret.name",
        ),
        (
            {"secrets": [{"name": "key", "value": "a"}, {"name": "key", "value": "b"}]},
            "secrets",
            "more than once",
        ),
        ({"secrets": [{"name": "1key", "value": "a"}]}, "secrets[0].name", "a letter"),
        ({"secrets": [{"name": "key", "value": "a\nb"}]}, "secrets[0].value", "control characters"),
        ({"secrets": [{"name": "key", "value": ""}]}, "secrets[0].value", "must not be empty"),
        ({"secrets": [{"name": "key", "value": "é" * 2049}]}, "secrets[0].value", "at most 4096 bytes"),
        ({"secrets": [{"name": f"k{i}", "value": "v"} for i in range(21)]}, "secrets", "at most 20"),
        ({"secrets": [{"name": "key", "set": False}]}, "secrets[0].set", ""),
    ],
)
def test_saves_refuse_misused_secrets_naming_them(
    api: ApiClient, stack: Any, change: dict[str, Any], field: str, words: str
) -> None:
    pid = api.post("/alerting-profiles", {"name": "p"}).json()["id"]
    body: dict[str, Any] = {
        "displayName": "hook",
        "alertingProfileId": pid,
        "webhook": {
            "url": "https://h.example/x",
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "payload": '{"k": "{Secret[key]}"}',
        },
        "secrets": [{"name": "key", "value": "the-value"}],
    }
    body["webhook"] |= change.pop("webhook", {})
    body |= change
    resp = api.post("/integrations", body)
    assert resp.status == 400, resp.text
    answer = resp.json()
    assert answer["field"] == field and words in answer["message"], answer
    assert "the-value" not in resp.text


def test_at_most_20_secrets_of_4096_bytes_are_taken(api: ApiClient, stack: Any) -> None:
    secrets = [{"name": f"k{i}", "value": "é" * 2048} for i in range(20)]
    iid = setup(api, "https://h.example/x", secrets=secrets)
    assert [s["name"] for s in api.get(f"/integrations/{iid}").json()["secrets"]] == [
        f"k{i}" for i in range(20)
    ]


def test_a_draft_preview_shows_the_mask_and_names_an_unknown_secret(api: ApiClient, stack: Any) -> None:
    pid = api.post("/alerting-profiles", {"name": "p"}).json()["id"]
    draft = {
        "displayName": "pd",
        "alertingProfileId": pid,
        "webhook": {
            "url": "https://events.pagerduty.com/v2/enqueue",
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "payload": PAGERDUTY,
        },
        "secrets": [{"name": "routingKey", "value": ROUTING_KEY}],
    }
    resp = api.post("/integrations/preview", {"integration": draft})
    assert resp.status == 200 and ROUTING_KEY not in resp.text
    assert json.loads(resp.json()["body"])["routing_key"] == "***" and resp.json()["valid"] is True
    draft["secrets"] = []
    out = api.post("/integrations/preview", {"integration": draft}).json()
    assert out["valid"] is False
    assert any("unknown secret: routingKey" in e["message"] for e in out["errors"]), out


def test_placeholders_list_the_secret_placeholder(api: ApiClient) -> None:
    items = api.get("/placeholders").json()["items"]
    secret = next(p for p in items if p["name"] == "Secret[name]")
    assert secret["example"] == "***" and "secret" in secret["description"]


def test_a_render_error_quoting_a_secret_is_masked(api: ApiClient, stack: Any) -> None:
    # Saved (the check render sees the mask, not the value), yet fails on a real render with a
    # message that quotes the value it was given.
    payload = "{% if Secret.routingKey != '***' %}{{ {}[Secret.routingKey] }}{% endif %}"
    with Receiver() as rx:
        iid = setup(
            api,
            rx.url("/"),
            secrets=[{"name": "routingKey", "value": ROUTING_KEY}],
            webhook={"payload": payload, "headers": [{"name": "Content-Type", "value": "text/plain"}]},
        )
        resp = api.post(f"/integrations/{iid}/test")
    out = resp.json()
    assert out["delivered"] is False and out["error"].startswith("template error:"), out
    assert "***" in out["error"] and ROUTING_KEY not in resp.text
    assert ROUTING_KEY not in api.get(f"/integrations/{iid}/deliveries").text


def test_a_new_secret_value_is_used_from_the_next_send(api: ApiClient, stack: Any) -> None:
    with Receiver() as rx:
        iid = setup(api, rx.url("/hook?sig={Secret[sig]}"), secrets=[{"name": "sig", "value": "first"}])
        assert api.post(f"/integrations/{iid}/test").json()["delivered"] is True
        edited = _editable(api.get(f"/integrations/{iid}").json())
        edited["webhook"]["headers"][1]["value"] = None
        edited["secrets"] = [{"name": "sig", "value": "second"}]
        assert api.put(f"/integrations/{iid}", edited).status == 200
        assert api.post(f"/integrations/{iid}/test").json()["delivered"] is True
        first, second = rx.wait_for(2)
    assert (first.path, second.path) == ("/hook?sig=first", "/hook?sig=second")
