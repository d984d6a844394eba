"""`secnotify export` / `secnotify apply`: references filled from the environment or a secrets
file, the rest left for the server to keep; the plan printed. And `secnotify audit`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from secnotify_cli.errors import CliError
from secnotify_cli.operations import fill_references, read_secrets_file
from tests.cli.conftest import Cli, require_route, write
from tests.cli.test_cli_objects import _integration, _profile
from tests.integration.servers import Receiver

DOCUMENT = {
    "apiVersion": "secnotify/v1",
    "kind": "Configuration",
    "integrations": [
        {
            "displayName": "Slack",
            "webhook": {
                "headers": [
                    {
                        "name": "Authorization",
                        "value": "${SECNOTIFY_SLACK_HEADER_AUTHORIZATION}",
                        "secret": True,
                    },
                    {"name": "X-Note", "value": "costs ${SECNOTIFY_SLACK_HEADER_AUTHORIZATION} inline"},
                ],
            },
            "secrets": [{"name": "routingKey", "value": "${SECNOTIFY_SLACK_SECRET_ROUTINGKEY}"}],
            "signingSecret": "${SECNOTIFY_SLACK_SIGNING_SECRET}",
        }
    ],
}


def test_references_are_filled_whole_and_unknown_ones_left_as_they_are() -> None:
    values = {
        "SECNOTIFY_SLACK_HEADER_AUTHORIZATION": "Bearer x",
        "SECNOTIFY_SLACK_SIGNING_SECRET": "whsec_abc",
    }
    filled, names, unresolved = fill_references(DOCUMENT, values)
    (integration,) = filled["integrations"]
    assert integration["webhook"]["headers"][0]["value"] == "Bearer x"
    # Only a slot that is exactly one reference is a secret slot: text around one is left alone.
    assert (
        integration["webhook"]["headers"][1]["value"]
        == "costs ${SECNOTIFY_SLACK_HEADER_AUTHORIZATION} inline"
    )
    assert integration["signingSecret"] == "whsec_abc"
    assert integration["secrets"][0]["value"] == "${SECNOTIFY_SLACK_SECRET_ROUTINGKEY}"
    assert sorted(names) == sorted(values)
    assert unresolved == ["SECNOTIFY_SLACK_SECRET_ROUTINGKEY"]
    assert DOCUMENT["integrations"][0]["signingSecret"] == "${SECNOTIFY_SLACK_SIGNING_SECRET}"  # not mutated


def test_secrets_file_lines(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text(
        "# rotated 2025-01\n\nSECNOTIFY_A=Bearer a=b c\nexport SECNOTIFY_B='quoted'\nSECNOTIFY_C=\n",
        encoding="utf-8",
    )
    assert read_secrets_file(str(path)) == {
        "SECNOTIFY_A": "Bearer a=b c",
        "SECNOTIFY_B": "'quoted'",
        "SECNOTIFY_C": "",
    }
    path.write_text("SECNOTIFY_A=1\nnot a pair\n", encoding="utf-8")
    with pytest.raises(CliError, match=r"secrets.env:2: expected KEY=VALUE"):
        read_secrets_file(str(path))


def test_apply_refuses_a_document_that_is_not_a_mapping(cli: Cli, tmp_path: Path) -> None:
    result = cli("apply", write(tmp_path, "doc.yaml", "- one\n- two\n"))
    assert result.code == 2 and "expected a configuration document" in result.err


def _seed(cli: Cli, tmp_path: Path, url: str) -> None:
    pid = _profile(cli, tmp_path)
    cli.ok("integrations", "create", "-f", write(tmp_path, "i.json", _integration(pid, url, "Slack")))


def test_export_apply_round_trip_with_secrets_from_a_file(cli: Cli, tmp_path: Path, monkeypatch: Any) -> None:
    require_route(cli.url, "GET", "/config/export")
    with Receiver() as rx:
        _seed(cli, tmp_path, rx.url("/"))
        exported = cli.ok("export").out
        doc = yaml.safe_load(exported)
        assert doc["kind"] == "Configuration" and "cli-secret-value" not in exported
        header = doc["integrations"][0]["webhook"]["headers"][1]
        assert header["value"] == "${SECNOTIFY_SLACK_HEADER_AUTHORIZATION}"

        # Applying what was exported changes nothing: every object unchanged.
        path = write(tmp_path, "secnotify.yaml", exported)
        plan = cli.ok("apply", path, "--dry-run").out
        assert (
            "dry run: nothing written" in plan
            and "note: ${SECNOTIFY_SLACK_HEADER_AUTHORIZATION} has no value" in plan
        )
        assert cli.ok("apply", path, "-o", "json").json()["items"][0]["action"] == "unchanged"

        # A new value from a secrets file: the integration is updated, and sends it.
        secrets = write(tmp_path, "s.env", "SECNOTIFY_SLACK_HEADER_AUTHORIZATION=Bearer rotated\n")
        applied = cli.ok("apply", path, "--secrets-file", secrets, "-o", "json").json()
        assert applied["applied"] is True
        assert {i["action"] for i in applied["items"] if i["kind"] == "integration"} == {"update"}
        cli.ok("integrations", "test", "Slack")
        (request,) = rx.wait_for(1)
    assert request.header("Authorization") == "Bearer rotated"


def test_apply_prune_deletes_what_the_document_does_not_name(cli: Cli, tmp_path: Path) -> None:
    require_route(cli.url, "POST", "/config/apply")
    _seed(cli, tmp_path, "http://127.0.0.1:9/")
    empty = write(tmp_path, "empty.yaml", "apiVersion: secnotify/v1\nkind: Configuration\n")
    plan = cli.ok("apply", empty, "--prune", "--dry-run", "-o", "json").json()
    assert {(i["kind"], i["action"]) for i in plan["items"]} == {
        ("profile", "delete"),
        ("integration", "delete"),
    }
    assert len(cli.ok("integrations", "list", "-o", "json").json()) == 1
    cli.ok("apply", empty, "--prune")
    assert cli.ok("integrations", "list", "-o", "json").json() == []


def test_audit_lists_who_changed_what(cli: Cli, tmp_path: Path) -> None:
    require_route(cli.url, "GET", "/audit")
    _profile(cli, tmp_path)
    table = cli.ok("audit").out
    assert "arn:aws:iam::123456789012:user/local" in table
    records = cli.ok("audit", "-o", "json").json()
    assert records and "cli-secret-value" not in str(records)


def _apply_server(stack: Any, short_requests: int) -> Any:
    """A signed local API whose first ``short_requests`` applies run out of Lambda time before
    their first write (the margin the service keeps, and 1 ms), as a large document would."""
    import time

    from functions.config_api.app import lambda_handler
    from local.api_server import serve_api
    from local.lambda_runtime import LocalContext
    from secnotify.service.config_code import WRITE_MARGIN_S
    from tests.conftest import free_port

    applies: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event["path"] == "/config/apply":
            applies.append(len(applies))
            if len(applies) <= short_requests:
                context = LocalContext(deadline_ms=time.time() * 1000 + WRITE_MARGIN_S * 1000 + 1)
        result: dict[str, Any] = lambda_handler(event, context)
        return result

    server = serve_api(port=free_port(), auth="sigv4", handler=handler)
    server.applies = applies
    return server


@pytest.mark.parametrize(("short", "code"), [(1, 0), (50, 4)])
def test_apply_sends_the_document_again_while_writes_are_pending(
    stack: Any, cli: Cli, tmp_path: Path, short: int, code: int
) -> None:
    server = _apply_server(stack, short)
    try:
        other = Cli(f"http://127.0.0.1:{server.server_address[1]}", cli.capsys)
        document = {
            "apiVersion": "secnotify/v1",
            "kind": "Configuration",
            "profiles": [{"name": "pending"}],
        }
        result = other("apply", write(tmp_path, "doc.json", document))
        assert result.code == code, result
        names = [p["name"] for p in other.ok("profiles", "list", "-o", "json").json()]
        if code == 0:
            # The first request wrote nothing and said so; the second did the write.
            assert server.applies == [0, 1] and "applied" in result.out and names == ["pending"]
        else:
            # No progress: the command stops at once, says what is pending, and exits non-zero.
            assert server.applies == [0, 1] and "1 write(s) pending" in result.err and names == []
    finally:
        server.shutdown()
        server.server_close()
