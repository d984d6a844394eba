"""Editing integrations: kept secrets stay at their origin, size caps, If-Match parsing, and
preview running the checks a save runs. Through the real config API handler on a moto server."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

from tests.conftest import ApiClient, load_event
from tests.integration.servers import Receiver
from tests.integration.test_api_integrations import SECRET, body, make_profile
from tests.integration.test_dispatch import dispatch

API_KEY = "k3y-0123456789abcdef"


def secret_body(pid: str, url: str, **extra: Any) -> dict[str, Any]:
    draft = body(pid, url=url)
    draft["webhook"]["headers"].append({"name": "X-Api-Key", "value": API_KEY, "secret": True})
    return {**draft, **extra}


def send_raw(api: ApiClient, method: str, path: str, doc: Any) -> Any:
    """Non-ASCII as UTF-8, not \\u escapes: how most clients send it (and six times smaller)."""
    return api.request(method, path, raw=json.dumps(doc, ensure_ascii=False).encode())


def keep_secrets(draft: dict[str, Any], url: str) -> dict[str, Any]:
    """The same integration at ``url``, every secret header listed without its value."""
    out = copy.deepcopy(draft)
    out.pop("generateSigningSecret", None)
    out["webhook"]["url"] = url
    for header in out["webhook"]["headers"]:
        if header.get("secret"):
            header.pop("value")
    return out


# ---- §3: kept secrets never follow the URL to another origin -------------------------------


def test_a_new_origin_needs_every_kept_secret_supplied_again(api: ApiClient, stack: Any) -> None:
    from secnotify.service.wiring import api_services

    with Receiver() as real, Receiver() as attacker:
        pid = make_profile(api)
        draft = secret_body(pid, real.url("/hook"), generateSigningSecret=True)
        created = api.post("/integrations", draft).json()
        path = f"/integrations/{created['id']}"

        moved = keep_secrets(draft, attacker.url("/steal"))
        resp = api.put(path, moved)
        assert resp.status == 400, resp.text
        error = resp.json()
        assert error["field"] == "webhook.url"
        for name in ("header Authorization", "header X-Api-Key", "signingSecret"):
            assert name in error["message"]
        assert {e["field"] for e in error["errors"]} == {
            "webhook.headers[1].value",
            "webhook.headers[2].value",
            "signingSecret",
        }
        assert SECRET not in resp.text and API_KEY not in resp.text
        # Nothing changed, and a test-send still goes to the real receiver only.
        stored = api_services().integrations.get_stored(created["id"])
        assert stored.version == 1 and stored.webhook.url == real.url("/hook")
        assert api.post(f"{path}/test").json()["delivered"] is True
        real.wait_for(1)

        # One secret supplied is not enough: the others are still named.
        moved["webhook"]["headers"][1]["value"] = "Bearer attacker-chosen"
        resp = api.put(path, moved)
        assert resp.status == 400
        assert "header X-Api-Key" in resp.json()["message"] and "signingSecret" in resp.json()["message"]
        assert "header Authorization" not in resp.json()["message"]

        # All supplied again, signing removed: the move is allowed and carries only new values.
        moved["webhook"]["headers"][2]["value"] = "new-key"
        moved["signingSecret"] = {"remove": True}
        resp = api.put(path, moved)
        assert resp.status == 200, resp.text
        assert api.post(f"{path}/test").json()["delivered"] is True
        (sent,) = attacker.wait_for(1)
    assert sent.header("Authorization") == "Bearer attacker-chosen"
    assert sent.header("X-Api-Key") == "new-key"
    assert sent.header("webhook-signature") is None
    assert len(attacker.requests) == 1 and len(real.requests) == 1


@pytest.mark.parametrize(
    "signing",
    [
        {"generateSigningSecret": True},
        {"signingSecret": "whsec_" + "A" * 32},
        {"signingSecret": {"remove": True}},
    ],
    ids=["generate", "new-value", "remove"],
)
def test_a_new_signing_decision_satisfies_the_rule(api: ApiClient, signing: dict[str, Any]) -> None:
    pid = make_profile(api)
    draft = body(pid, url="https://hooks.example.com/a", headers=[body(pid)["webhook"]["headers"][0]])
    draft["generateSigningSecret"] = True
    created = api.post("/integrations", draft).json()
    moved = keep_secrets(draft, "https://other.example.net/a")
    assert api.put(f"/integrations/{created['id']}", moved).status == 400
    resp = api.put(f"/integrations/{created['id']}", {**moved, **signing})
    assert resp.status == 200, resp.text
    assert resp.json()["signingSecret"]["set"] is (signing != {"signingSecret": {"remove": True}})


@pytest.mark.parametrize(
    ("before", "after", "same"),
    [
        ("https://hooks.example.com/a", "https://HOOKS.Example.COM:443/b?x=1", True),
        ("http://hooks.example.com/a", "http://hooks.example.com:80/", True),
        ("https://bücher.example/a", "https://xn--bcher-kva.example:443/b", True),
        ("https://BÜCHER.example/a", "https://bücher.example/a", True),
        ("https://hooks.example.com./a", "https://hooks.example.com/b", True),
        ("https://[::1]:8443/a", "https://[0:0:0:0:0:0:0:1]:8443/a", False),
        ("https://hooks.example.com/a", "http://hooks.example.com/a", False),
        ("https://hooks.example.com/a", "https://hooks.example.com:8443/a", False),
        ("http://hooks.example.com:8080/a", "http://hooks.example.com/a", False),
        ("https://hooks.example.com/a", "https://hooks.example.com.evil.net/a", False),
        ("https://bücher.example/a", "https://bucher.example/a", False),
    ],
)
def test_origin_is_scheme_idna_host_and_explicit_port(
    api: ApiClient, before: str, after: str, same: bool
) -> None:
    pid = make_profile(api)
    draft = body(pid, url=before)
    created = api.post("/integrations", draft).json()
    resp = api.put(f"/integrations/{created['id']}", keep_secrets(draft, after))
    assert resp.status == (200 if same else 400), resp.text
    if not same:
        assert "header Authorization" in resp.json()["message"]


def test_the_rule_holds_in_the_service_layer_itself(api: ApiClient, stack: Any) -> None:
    # Any edit path (the PUT route today) goes through the service; call it directly.
    from secnotify.models.integration_api import IntegrationInput
    from secnotify.service.errors import BadRequest
    from secnotify.service.wiring import api_services

    pid = make_profile(api)
    draft = body(pid, url="https://hooks.example.com/a")
    created = api.post("/integrations", draft).json()
    moved = IntegrationInput.model_validate(keep_secrets(draft, "https://evil.example/a"))
    with pytest.raises(BadRequest, match="header Authorization"):
        api_services().integrations.replace(created["id"], moved, None)


# ---- §4: If-Match, header and item caps ----------------------------------------------------


# superscript two, Arabic-Indic one and three, mathematical bold one: all str.isdigit()
@pytest.mark.parametrize("tag", ['"\u00b2"', '"\u0661"', "\u0661", '"\u0663"', '"1\u00b2"', '"\U0001d7cf"'])
def test_non_ascii_digits_in_if_match_never_match_nor_fail(api: ApiClient, tag: str) -> None:
    pid = make_profile(api)
    created = api.post("/integrations", body(pid)).json()
    for path, doc in (
        (f"/integrations/{created['id']}", body(pid)),
        (f"/alerting-profiles/{pid}", {"name": "p"}),
    ):
        resp = api.put(path, doc, headers={"If-Match": tag})
        assert resp.status == 412, (path, resp.status, resp.text)
        assert resp.json()["message"]
    assert api.put(f"/integrations/{created['id']}", body(pid), headers={"If-Match": '"1"'}).status == 200


def _headers(count: int, value: str) -> list[dict[str, Any]]:
    ct = {"name": "Content-Type", "value": "application/json"}
    return [ct] + [{"name": f"X-H{i:02d}", "value": value} for i in range(count)]


def test_header_bytes_are_capped_at_16_kib(api: ApiClient) -> None:
    pid = make_profile(api)
    # 30 headers of 8,192 CJK characters: 737 KB of UTF-8, a sealed item past DynamoDB's 400 KB.
    resp = send_raw(api, "POST", "/integrations", body(pid, headers=_headers(30, "漢" * 8192)))
    assert resp.status == 400, resp.text
    message = resp.json()["message"]
    assert "737," in message and "16,384" in message and resp.json()["field"] == "webhook.headers"
    for secret in (False, True):
        headers = _headers(30, "漢" * 8192)
        for h in headers[1:]:
            h["secret"] = secret
        assert send_raw(api, "POST", "/integrations", body(pid, headers=headers)).status == 400
    # Exactly at the cap is fine; one byte more is not.
    ct = _headers(0, "")
    room = 16_384 - len("Content-Typeapplication/json") - len("X-Fill")
    assert (
        api.post(
            "/integrations", body(pid, headers=[*ct, {"name": "X-Fill", "value": "é" * (room // 2)}])
        ).status
        == 201
    )
    over = [*ct, {"name": "X-Fill", "value": "é" * (room // 2) + "x"}]
    resp = api.post("/integrations", body(pid, headers=over))
    assert resp.status == 400 and "16,385 bytes" in resp.json()["message"]


def test_kept_secret_values_count_towards_the_header_cap(api: ApiClient) -> None:
    pid = make_profile(api)
    draft = body(pid)
    draft["webhook"]["headers"][1]["value"] = "Bearer " + "s" * 8150
    created = api.post("/integrations", draft).json()
    update = keep_secrets(draft, draft["webhook"]["url"])
    update["webhook"]["headers"].append({"name": "X-Big", "value": "b" * 8192})
    resp = api.put(f"/integrations/{created['id']}", update)
    assert resp.status == 400 and "16,384" in resp.json()["message"], resp.text[:300]


def test_request_bodies_over_256_kib_stay_413(api: ApiClient) -> None:
    pid = make_profile(api)
    resp = api.post("/integrations", body(pid, headers=_headers(40, "x" * 8000)))
    assert resp.status == 413


def test_stored_item_is_capped_at_350_kib(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from secnotify.service import wiring

    # Only a raised payload limit (and request size) can reach the item cap; it still holds.
    monkeypatch.setenv("MAX_PAYLOAD_CHARS", "200000")
    monkeypatch.setenv("MAX_REQUEST_BODY_BYTES", "2000000")
    wiring.reset()
    pid = make_profile(api)
    text = {"name": "Content-Type", "value": "text/plain"}
    for chars, status in ((60_000, 201), (95_000, 400), (120_000, 400)):
        draft = body(pid, headers=[text], payload="😀" * chars)  # 4 bytes each
        resp = send_raw(api, "POST", "/integrations", draft)
        assert resp.status == status, (chars, resp.status, resp.text[:300])
        if status == 400:
            message = resp.json()["message"]
            assert "358,400 bytes" in message and f"{chars * 4:,}"[:3] in message


def _raw_item(stack: Any, integration_id: str) -> dict[str, Any]:
    key = {"pk": {"S": "CONFIG"}, "sk": {"S": f"INTEGRATION#{integration_id}"}}
    item: dict[str, Any] = boto3.client("dynamodb").get_item(TableName=stack.table_name, Key=key)["Item"]
    return item


def test_items_stored_over_the_caps_keep_delivering_and_fail_on_next_write(
    api: ApiClient, stack: Any
) -> None:
    from secnotify.storage.config_repository import MAX_CONFIG_ITEM_BYTES, item_size

    with Receiver() as rx:
        pid = make_profile(api)
        draft = body(pid, url=rx.url("/hook"))
        created = api.post("/integrations", draft).json()
        # As a version without the caps would have written it: 44 headers of 8,192 characters.
        item = _raw_item(stack, created["id"])
        doc = json.loads(item["doc"]["S"])
        doc["webhook"]["headers"] += [
            {"name": f"X-Old{i:02d}", "value": "v" * 8192, "secret": False} for i in range(44)
        ]
        item["doc"]["S"] = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
        assert MAX_CONFIG_ITEM_BYTES < item_size(item) < 400 * 1024
        boto3.client("dynamodb").put_item(TableName=stack.table_name, Item=item)

        path = f"/integrations/{created['id']}"
        view = api.get(path)
        assert view.status == 200 and len(view.json()["webhook"]["headers"]) == 46
        result = dispatch(load_event("eventbridge/opened.json"))
        assert result["counts"]["delivered"] == 1
        (sent,) = rx.wait_for(1)
        assert sent.header("X-Old43") == "v" * 8192 and sent.header("Authorization") == SECRET
        assert api.post(f"{path}/test").json()["delivered"] is True

        # The next write must bring it under the caps: 400 naming the total and the cap.
        same = keep_secrets(draft, draft["webhook"]["url"])
        same["webhook"]["headers"] += [{"name": f"X-Old{i:02d}", "value": "v" * 8192} for i in range(44)]
        same["displayName"] = "renamed"
        same["webhook"]["headers"] = same["webhook"]["headers"][:30]  # a request under 256 KB
        resp = api.put(path, same)
        assert resp.status == 400, resp.text
        assert "229," in resp.json()["message"] and "16,384" in resp.json()["message"]
        assert api.get(path).json()["displayName"] == "Slack"
        # Trimmed back under the caps, it saves.
        resp = api.put(path, keep_secrets(draft, draft["webhook"]["url"]))
        assert resp.status == 200, resp.text


# ---- §5: a backslash before a placeholder; preview runs the checks a save runs -------------


def test_odd_backslashes_before_a_placeholder_are_refused_on_save(api: ApiClient) -> None:
    pid = make_profile(api)
    resp = api.post("/integrations", body(pid, payload='{\n  "owner": "\\{Tags[owner]}"\n}'))
    assert resp.status == 400, resp.text
    error = resp.json()
    assert "line 2, column 14" in error["message"]
    assert error["errors"][0]["line"] == 2 and error["errors"][0]["column"] == 14
    assert api.post("/integrations", body(pid, payload='{"owner": "\\\\{Tags[owner]}"}')).status == 201
    jinja = api.post("/integrations", body(pid, payload='{"owner": "\\{{ Tags.owner }}"}'))
    assert jinja.status == 400 and "column 13" in jinja.json()["message"]


def _preview(api: ApiClient, draft: dict[str, Any], **extra: Any) -> dict[str, Any]:
    resp = api.post("/integrations/preview", {"integration": draft, **extra})
    assert resp.status == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


DIVERGENCES: list[tuple[str, Any, str]] = [
    ("content type without value", lambda d: d["webhook"]["headers"][0].pop("value"), "Content-Type"),
    ("header without value", lambda d: d["webhook"]["headers"].append({"name": "X-A"}), "X-A"),
    (
        "new secret header without value",
        lambda d: d["webhook"]["headers"][1].pop("value"),
        "webhook.headers[1].value",
    ),
    (
        "headers over the cap",
        lambda d: d["webhook"]["headers"].extend(_headers(3, "x" * 8000)[1:]),
        "16,384",
    ),
    (
        "backslash before a placeholder",
        lambda d: d["webhook"].update(payload='{"o": "\\{Title}"}'),
        "backslash",
    ),
    (
        "invalid JSON only for the sample event",
        lambda d: d["webhook"].update(
            payload='{% if EventId == "' + _sample_id() + '" %}{"a": {% else %}{"a": 1}{% endif %}'
        ),
        "valid JSON",
    ),
]


def _sample_id() -> str:
    from secnotify.models.event import sample_event

    return sample_event().event_id


@pytest.mark.parametrize(("name", "mutation", "named"), DIVERGENCES, ids=[d[0] for d in DIVERGENCES])
def test_preview_reports_what_a_save_refuses(api: ApiClient, name: str, mutation: Any, named: str) -> None:
    pid = make_profile(api)
    draft = body(pid)
    mutation(draft)
    event = load_event("eventbridge/opened.json")
    saved = api.post("/integrations", draft)
    assert saved.status == 400, (name, saved.text)
    out = _preview(api, draft, event=event)
    assert out["valid"] is False, (name, out)
    assert any(named in e["message"] or named == e.get("field") for e in out["errors"]), out["errors"]
    assert named in saved.text


def test_preview_of_an_edit_applies_the_origin_rule(api: ApiClient) -> None:
    pid = make_profile(api)
    draft = body(pid)
    created = api.post("/integrations", draft).json()
    same = _preview(api, keep_secrets(draft, draft["webhook"]["url"]), integrationId=created["id"])
    assert same["valid"] is True and same["errors"] == []
    moved = _preview(api, keep_secrets(draft, "https://evil.example/x"), integrationId=created["id"])
    assert moved["valid"] is False
    assert {e["field"] for e in moved["errors"]} == {"webhook.headers[1].value"}
    assert SECRET not in json.dumps(moved)


def test_preview_accepts_what_a_save_accepts(api: ApiClient) -> None:
    pid = make_profile(api)
    draft = body(pid)
    assert _preview(api, draft) == {**_preview(api, draft), "valid": True, "errors": []}
    assert api.post("/integrations", draft).status == 201


# ---- §5: echoed secrets are masked in every form, at any length ----------------------------


def test_echoed_secrets_are_masked_in_test_send_and_the_delivery_log(api: ApiClient) -> None:
    import base64

    from tests.integration.servers import Reply

    token = "s3cr3t-tök€n-0123456789"
    short = "q7z"
    raw = token.encode()
    forms = [
        token.upper(),
        raw.decode("latin-1"),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        raw.hex().upper(),
        base64.b64encode(b"Authorization: Bearer " + raw).decode(),
    ]
    echo = " | ".join([*forms, f"key={short};", short.upper()])
    with Receiver(default=Reply(status=401, body=echo.encode())) as rx:
        pid = make_profile(api)
        headers = [
            {"name": "Content-Type", "value": "application/json"},
            {"name": "Authorization", "value": f"Bearer {token}", "secret": True},
            {"name": "X-Short", "value": short, "secret": True},
        ]
        created = api.post("/integrations", body(pid, url=rx.url("/"), headers=headers)).json()
        result = api.post(f"/integrations/{created['id']}/test")
        assert result.status == 200 and result.json()["delivered"] is False
        log = api.get(f"/integrations/{created['id']}/deliveries").text
    shown = result.json()["responseBody"]
    assert shown.count("***") == len(forms) + 2, shown
    for text in (shown, log, result.text):
        for form in [*forms, token]:
            assert form not in text and form.lower() not in text.lower()
        assert short not in text.lower()
