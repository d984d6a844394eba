"""A receiver that answers as Jira Cloud's REST API v3 does, for end-to-end tests: it creates
issues and takes comments only on an issue it created. With ``checked``, it also refuses (400, as
Jira does) a create or a comment that breaks Jira's documented rules (tests/presets/rules.py)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

AUTH = "Basic amlyYUBleGFtcGxlLmNvbTplMmUtdG9rZW4tMDEyMzQ1"
_COMMENT = re.compile(r"^/rest/api/3/issue/([^/]+)/comment$")


class JiraLike:
    """Creates issues SEC-1, SEC-2... on POST /rest/api/3/issue; takes a comment on an issue it
    created (404 otherwise). Records every request as (path, body)."""

    def __init__(self, auth: str = AUTH, checked: bool = False) -> None:
        self.auth = auth
        self.checked = checked
        self.refused: list[list[str]] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.issues: list[str] = []
        self.lock = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = owner.answer(self.path, body, self.headers.get("Authorization"))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, body: bytes, auth: str | None) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append((path, json.loads(body)))
            self.lock.notify_all()
            if auth != self.auth:
                return 401, {"errorMessages": ["unauthorized"]}
            problems = self._problems(path, self.requests[-1][1])
            if problems:
                self.refused.append(problems)
                return 400, {"errorMessages": problems, "errors": {}}
            if path == "/rest/api/3/issue":
                self.issues.append(f"SEC-{len(self.issues) + 1}")
                key = self.issues[-1]
                return 201, {
                    "id": str(10000 + len(self.issues)),
                    "key": key,
                    "self": f"{self.url}{path}/{key}",
                }
            found = _COMMENT.match(path)
            if found and found.group(1) in self.issues:
                return 201, {"id": "1", "body": "ok"}
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}

    def _problems(self, path: str, body: dict[str, Any]) -> list[str]:
        if not self.checked:
            return []
        from tests.presets import rules

        check: Callable[[Any], list[str]] = (
            rules.jira_create if path == "/rest/api/3/issue" else rules.jira_comment
        )
        return check(body)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[tuple[str, dict[str, Any]]]:
        with self.lock:
            self.lock.wait_for(lambda: len(self.requests) >= count, timeout)
            assert len(self.requests) >= count, f"receiver got {self.requests}"
            return list(self.requests)

    def __enter__(self) -> JiraLike:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
