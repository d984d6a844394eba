"""`secnotify profiles …` and `secnotify integrations …` against the signed local API, through the
CLI's own main(): what they print, what they change, and their exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.cli.conftest import Cli, require_route, write
from tests.integration.servers import Receiver, closed_port

PROFILE = {
    "name": "Critical in production",
    "enabledRiskLevels": ["CRITICAL"],
    "managementZone": "production",
}


def _integration(profile_id: str, url: str, name: str = "hook") -> dict[str, Any]:
    return {
        "displayName": name,
        "alertingProfileId": profile_id,
        "webhook": {
            "url": url,
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Authorization", "value": "Bearer cli-secret-value", "secret": True},
            ],
            "payload": '{\n  "text": "{Title}"\n}',
        },
    }


def _profile(cli: Cli, tmp_path: Path, body: dict[str, Any] | None = None) -> str:
    created = cli.ok("-o", "json", "profiles", "create", "-f", write(tmp_path, "p.json", body or PROFILE))
    return str(created.json()["id"])


def test_profiles_create_list_get_delete(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(PROFILE), encoding="utf-8")
    created = cli.ok("profiles", "create", "-f", str(path))
    shown = yaml.safe_load(created.out)
    assert shown["name"] == PROFILE["name"] and shown["enabledRiskLevels"] == ["CRITICAL"]

    table = cli.ok("profiles", "list").out.splitlines()
    assert table[0].split()[:3] == ["ID", "NAME", "ENABLED"]
    assert shown["id"] in table[1] and "Critical in production" in table[1] and "production" in table[1]
    assert [p["id"] for p in cli.ok("profiles", "list", "-o", "json").json()] == [shown["id"]]

    # By id or by name, the same object, as YAML.
    assert yaml.safe_load(cli.ok("profiles", "get", shown["id"]).out) == shown
    assert cli.ok("profiles", "get", "Critical in production", "-o", "json").json() == shown

    deleted = cli.ok("profiles", "delete", "Critical in production")
    assert deleted.out.strip() == f"deleted profile {shown['id']}"
    assert cli.ok("profiles", "list", "-o", "json").json() == []


def test_create_reads_standard_input(cli: Cli, monkeypatch: Any) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("name: from stdin\nenabledRiskLevels: [HIGH]\n"))
    created = cli.ok("-o", "json", "profiles", "create", "-f", "-")
    assert created.json()["name"] == "from stdin"


def test_errors_quote_the_api_and_exit_codes_tell_them_apart(cli: Cli, tmp_path: Path) -> None:
    bad = cli(
        "profiles", "create", "-f", write(tmp_path, "bad.json", {"name": "x", "enabledRiskLevels": ["HUGE"]})
    )
    assert bad.code == 1 and bad.out == ""
    assert bad.err.startswith("secnotify: POST /alerting-profiles: 400 enabledRiskLevels")

    missing = cli("profiles", "get", "no-such-profile")
    assert missing.code == 1 and "no profile has the id or name 'no-such-profile'" in missing.err

    assert cli("profiles", "create").code == 2  # -f is required
    assert cli("profiles", "create", "-f", str(tmp_path / "absent.yaml")).code == 2
    assert cli("profiles", "create", "-f", write(tmp_path, "list.json", [1, 2])).code == 2
    assert cli("nonsense").code == 2

    sock, port = closed_port()
    try:
        from secnotify_cli.main import main

        unreachable = main(["--endpoint", f"http://127.0.0.1:{port}", "placeholders"])
    finally:
        sock.close()
    assert unreachable == 3

    # The server checks signatures: an unsigned client is refused, and told why.
    unsigned = cli("profiles", "list", sign=False)
    assert unsigned.code == 1 and "403 Missing Authentication Token" in unsigned.err


def test_a_profile_in_use_is_not_deleted_and_the_answer_names_the_user(cli: Cli, tmp_path: Path) -> None:
    pid = _profile(cli, tmp_path)
    iid = cli.ok(
        "-o",
        "json",
        "integrations",
        "create",
        "-f",
        write(tmp_path, "i.json", _integration(pid, "http://127.0.0.1:9/")),
    ).json()["id"]
    refused = cli("profiles", "delete", pid)
    assert refused.code == 1 and "409" in refused.err and iid in refused.err


def test_integrations_list_get_and_secrets_never_printed(cli: Cli, tmp_path: Path) -> None:
    pid = _profile(cli, tmp_path)
    draft = write(tmp_path, "i.json", _integration(pid, "http://127.0.0.1:9/hook", "Slack #sec"))
    created = cli.ok("integrations", "create", "-f", draft)
    assert "cli-secret-value" not in created.out
    iid = yaml.safe_load(created.out)["id"]
    listing = cli.ok("integrations", "list").out
    assert "Slack #sec" in listing and iid in listing and "http://127.0.0.1:9/hook" in listing
    shown = cli.ok("integrations", "get", "Slack #sec").out
    # The payload reads as written: a block scalar, not one escaped line.
    assert 'payload: |-\n    {\n      "text": "{Title}"\n    }' in shown
    assert "cli-secret-value" not in shown
    assert yaml.safe_load(shown)["webhook"]["headers"][1] == {
        "name": "Authorization",
        "value": None,
        "secret": True,
    }
    assert cli.ok("integrations", "delete", iid).out.strip() == f"deleted integration {iid}"


def test_integrations_test_sends_and_failures_exit_4(cli: Cli, tmp_path: Path) -> None:
    pid = _profile(cli, tmp_path)
    with Receiver() as rx:
        cli.ok(
            "integrations",
            "create",
            "-f",
            write(tmp_path, "ok.json", _integration(pid, rx.url("/hook"), "ok")),
        )
        sent = cli.ok("integrations", "test", "ok")
        (request,) = rx.wait_for(1)
    assert sent.out.startswith("test of ") and "delivered, HTTP 200" in sent.out
    assert request.header("webhook-test") == "true"
    assert request.header("Authorization") == "Bearer cli-secret-value"

    sock, port = closed_port()
    try:
        cli.ok(
            "integrations",
            "create",
            "-f",
            write(tmp_path, "ko.json", _integration(pid, f"http://127.0.0.1:{port}/", "ko")),
        )
        failed = cli("integrations", "test", "ko", "-o", "json")
    finally:
        sock.close()
    assert failed.code == 4
    assert failed.json()["delivered"] is False and failed.json()["deliveryId"]


def test_integrations_test_with_an_event_of_ones_own(cli: Cli, tmp_path: Path) -> None:
    pid = _profile(cli, tmp_path)
    event = json.loads(Path("events/eventbridge/hostile.json").read_text(encoding="utf-8"))["detail"]
    with Receiver() as rx:
        cli.ok("integrations", "create", "-f", write(tmp_path, "i.json", _integration(pid, rx.url("/"))))
        cli.ok("integrations", "test", "hook", "--event", write(tmp_path, "e.json", event))
        (request,) = rx.wait_for(1)
    assert request.header("webhook-test") == "custom-event"
    assert json.loads(request.body)["text"] == event["title"]


def test_integrations_preview_of_a_saved_one_and_of_a_draft(cli: Cli, tmp_path: Path) -> None:
    pid = _profile(cli, tmp_path)
    cli.ok(
        "integrations", "create", "-f", write(tmp_path, "i.json", _integration(pid, "http://127.0.0.1:9/"))
    )
    saved = cli.ok("integrations", "preview", "hook")
    first, *body = saved.out.splitlines()
    assert first == "# application/json"
    assert "text" in json.loads("\n".join(body))

    draft = _integration(pid, "http://127.0.0.1:9/")
    draft["webhook"]["payload"] = '{"text": "{NoSuchPlaceholder}"}'
    refused = cli("integrations", "preview", "-f", write(tmp_path, "d.json", draft))
    assert refused.code == 4
    assert "error:" in refused.out and "NoSuchPlaceholder" in refused.out
    assert cli("integrations", "preview").code == 2


def test_placeholders_table(cli: Cli) -> None:
    lines = cli.ok("placeholders").out.splitlines()
    assert lines[0].split() == ["NAME", "DESCRIPTION", "EXAMPLE"]
    assert any(line.startswith("Title ") for line in lines)
    names = [item["name"] for item in cli.ok("placeholders", "-o", "json").json()]
    assert "Title" in names and len(names) == len(lines) - 1


# ---- edit (PUT with If-Match of the version read) ---------------------------------------

EDITOR = """\
import sys, yaml
path = sys.argv[1]
doc = yaml.safe_load(open(path, encoding="utf-8"))
doc[{field!r}] = {value!r}
open(path, "w", encoding="utf-8").write(yaml.safe_dump(doc))
"""


def _editor(tmp_path: Path, monkeypatch: Any, script: str) -> None:
    path = tmp_path / "editor.py"
    path.write_text(script, encoding="utf-8")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {path}")
    monkeypatch.delenv("VISUAL", raising=False)


def test_edit_without_a_change_writes_nothing(cli: Cli, tmp_path: Path, monkeypatch: Any) -> None:
    pid = _profile(cli, tmp_path)
    _editor(tmp_path, monkeypatch, "pass\n")
    result = cli.ok("profiles", "edit", pid)
    assert result.out.strip() == f"profile {pid}: no change"
    assert cli.ok("profiles", "get", pid, "-o", "json").json()["version"] == 1


def test_edit_stops_when_the_editor_fails(cli: Cli, tmp_path: Path, monkeypatch: Any) -> None:
    pid = _profile(cli, tmp_path)
    _editor(tmp_path, monkeypatch, "raise SystemExit(3)\n")
    result = cli("profiles", "edit", pid)
    assert result.code == 2 and "exited with status 3: nothing changed" in result.err


def test_edit_puts_the_change_with_if_match(cli: Cli, tmp_path: Path, monkeypatch: Any) -> None:
    require_route(cli.url, "PATCH", "/alerting-profiles/{profile_id}")
    pid = _profile(cli, tmp_path)
    _editor(tmp_path, monkeypatch, EDITOR.format(field="name", value="Renamed in the editor"))
    edited = cli.ok("profiles", "edit", pid)
    assert yaml.safe_load(edited.out)["name"] == "Renamed in the editor"
    assert cli.ok("profiles", "get", pid, "-o", "json").json()["version"] == 2


def test_edit_of_an_integration_keeps_its_secrets(cli: Cli, tmp_path: Path, monkeypatch: Any) -> None:
    require_route(cli.url, "PATCH", "/integrations/{integration_id}")
    pid = _profile(cli, tmp_path)
    with Receiver() as rx:
        cli.ok("integrations", "create", "-f", write(tmp_path, "i.json", _integration(pid, rx.url("/"))))
        _editor(tmp_path, monkeypatch, EDITOR.format(field="displayName", value="edited"))
        cli.ok("integrations", "edit", "hook")
        cli.ok("integrations", "test", "edited")
        (request,) = rx.wait_for(1)
    assert request.header("Authorization") == "Bearer cli-secret-value"


RACING_EDITOR = """\
import json, sys, urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# Another writer changes the object while this editor is open.
url, body = {url!r}, json.dumps({body!r}).encode()
request = AWSRequest(method="PUT", url=url, data=body, headers={{"Content-Type": "application/json"}})
SigV4Auth(Credentials("local", "local"), "execute-api", "us-east-1").add_auth(request)
assert urllib3.request("PUT", url, body=body, headers=dict(request.headers.items())).status == 200
path = sys.argv[1]
open(path, "a", encoding="utf-8").write("managementZone: staging\\n")
"""


def test_edit_refused_when_someone_else_changed_it(cli: Cli, tmp_path: Path, monkeypatch: Any) -> None:
    require_route(cli.url, "PATCH", "/alerting-profiles/{profile_id}")
    pid = _profile(cli, tmp_path)
    url = f"{cli.url}/alerting-profiles/{pid}"
    _editor(
        tmp_path, monkeypatch, RACING_EDITOR.format(url=url, body={**PROFILE, "name": "changed meanwhile"})
    )
    refused = cli("profiles", "edit", pid)
    assert refused.code == 1
    assert "someone else changed it since it was read; your edit is kept in " in refused.err
    kept = refused.err.rsplit("kept in ", 1)[1].strip()
    assert "managementZone: staging" in Path(kept).read_text(encoding="utf-8")
    assert cli.ok("profiles", "get", pid, "-o", "json").json()["name"] == "changed meanwhile"


def test_integrations_disable_and_enable_change_that_field_alone(cli: Cli, tmp_path: Path) -> None:
    require_route(cli.url, "PATCH", "/integrations/{integration_id}")
    pid = _profile(cli, tmp_path)
    with Receiver() as rx:
        cli.ok("integrations", "create", "-f", write(tmp_path, "i.json", _integration(pid, rx.url("/"))))
        before = cli.ok("integrations", "get", "hook", "-o", "json").json()
        disabled = cli.ok("integrations", "disable", "hook")
        after = cli.ok("integrations", "get", "hook", "-o", "json").json()
        assert (
            disabled.out.strip() == f"disabled integration {before['id']} (version {before['version'] + 1})"
        )
        assert after["enabled"] is False
        assert {k: v for k, v in after.items() if k not in ("enabled", "version", "updatedAt")} == {
            k: v for k, v in before.items() if k not in ("enabled", "version", "updatedAt")
        }
        assert cli.ok("integrations", "enable", "hook", "-o", "json").json()["enabled"] is True
        again = cli.ok("integrations", "get", "hook", "-o", "json").json()
        assert again["enabled"] is True and again["version"] == before["version"] + 2
        assert {k: v for k, v in again.items() if k not in ("version", "updatedAt")} == {
            k: v for k, v in before.items() if k not in ("version", "updatedAt")
        }
        # The secret header survived both patches.
        cli.ok("integrations", "test", "hook")
        (request,) = rx.wait_for(1)
    assert request.header("Authorization") == "Bearer cli-secret-value"


def test_an_email_integration_lists_its_recipients_as_a_mailto_url(cli: Cli, tmp_path: Path) -> None:
    pid = _profile(cli, tmp_path)
    body = {
        "displayName": "Mail the team",
        "type": "EMAIL",
        "alertingProfileId": pid,
        "email": {
            "recipients": ["secops@example.org", "oncall@example.org"],
            "bccRecipients": ["audit@example.org"],
            "subject": "{Title}",
            "body": "<p>{Title}</p>",
        },
    }
    cli.ok("integrations", "create", "-f", write(tmp_path, "mail.json", body))
    (row,) = [line for line in cli.ok("integrations", "list").out.splitlines() if "Mail the team" in line]
    assert row.rstrip().endswith("mailto:secops@example.org,oncall@example.org")
    sent = cli.ok("integrations", "test", "Mail the team")
    assert "delivered, HTTP 200" in sent.out
    shown = yaml.safe_load(cli.ok("integrations", "get", "Mail the team").out)
    assert shown["email"]["bccRecipients"] == ["audit@example.org"] and "webhook" not in shown
