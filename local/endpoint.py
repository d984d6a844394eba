"""The embedded AWS endpoint: a moto server on loopback, with DynamoDB's atomicity restored
and EventBridge's PutEvents answering a bad ``Detail`` as EventBridge does.

moto serves requests on many threads and its DynamoDB model takes no lock, so two conditional
writes racing on one item can both pass their condition, and a query racing a write can fail
with "dictionary changed size during iteration". DynamoDB applies each request atomically;
serving DynamoDB requests one at a time gives the local stack and the tests the same guarantee
(other services keep their threads: an SQS long poll must not hold up the table).

moto fails a whole PutEvents request with a 500 when an entry's ``Detail`` is JSON but not an
object (or nested past the recursion limit); EventBridge fails just that entry, with
``MalformedDetail``, and takes the others.

``GET /_local/ses/sent`` lists what the endpoint's SES accepted through a raw send (SES v2
``SendEmail`` with raw content): the mailbox of the local stack reads it. moto's own model dump
(``/moto-api/data.json``) has it too, but walks every object moto ever made, every SQS message
included, and takes seconds of the endpoint's time once a stack has run a while.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server


class _OneAtATime:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB"):
            return self.app(environ, start_response)
        with self.lock:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


_MALFORMED_DETAIL = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}


def _detail_is_malformed(entry: Any) -> bool:
    detail = entry.get("Detail") if isinstance(entry, dict) else None
    if not isinstance(detail, str) or not detail:
        return False  # missing: moto answers InvalidArgument, as EventBridge does
    try:
        return not isinstance(json.loads(detail), dict)
    except (ValueError, RecursionError):
        return True


class _PutEventsLikeAws:
    """Entries with a malformed ``Detail`` get a per-entry error; the rest go on to moto."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") != "AWSEvents.PutEvents":
            return self.app(environ, start_response)
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            request = json.loads(raw)
            entries = request["Entries"]
            bad = [_detail_is_malformed(e) for e in entries]
        except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
            request, bad = None, []
        if request is None or not any(bad):
            return self._forward(environ, start_response, raw)
        kept = [e for e, is_bad in zip(entries, bad, strict=True) if not is_bad]
        results: list[Any] = []
        failed = 0
        if kept:
            status, headers, body = self._call(environ, json.dumps({**request, "Entries": kept}).encode())
            if not status.startswith("200"):
                start_response(status, headers)
                return [body]
            answer = json.loads(body)
            results, failed = list(answer.get("Entries", [])), int(answer.get("FailedEntryCount", 0))
        merged = [dict(_MALFORMED_DETAIL) if is_bad else results.pop(0) for is_bad in bad]
        data = json.dumps({"FailedEntryCount": failed + sum(bad), "Entries": merged}).encode()
        start_response(
            "200 OK", [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))]
        )
        return [data]

    def _forward(
        self, environ: dict[str, Any], start_response: Callable[..., Any], raw: bytes
    ) -> Iterable[bytes]:
        environ["wsgi.input"] = io.BytesIO(raw)
        return self.app(environ, start_response)

    def _call(self, environ: dict[str, Any], data: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        sub = {**environ, "wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data))}
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return lambda _data: None

        result = self.app(sub, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return captured[0], captured[1], body


SENT_MAIL_PATH = "/_local/ses/sent"


def _sent_mail() -> list[dict[str, Any]]:
    """Every raw message SES accepted, in every account and region, oldest first per backend."""
    from moto.ses.models import RawMessage, ses_backends

    found: list[dict[str, Any]] = []
    for account_id, regions in list(ses_backends.items()):
        for region, backend in list(regions.items()):
            found += [
                {
                    "id": message.id,
                    "account": account_id,
                    "region": region,
                    "source": message.source,
                    "destinations": list(message.destinations),
                    "raw_data": message.raw_data,
                }
                for message in list(backend.sent_messages)
                if isinstance(message, RawMessage)
            ]
    return found


class _SentMail:
    """Answers ``GET /_local/ses/sent``; everything else goes on to moto."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != SENT_MAIL_PATH or environ.get("REQUEST_METHOD") != "GET":
            return self.app(environ, start_response)
        data = json.dumps({"messages": _sent_mail()}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


class EmbeddedAws:
    """DynamoDB, EventBridge, SQS, KMS and SES on ``http://host:port`` (port 0 picks a free one)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 4566) -> None:
        app = _SentMail(_PutEventsLikeAws(_OneAtATime(DomainDispatcherApplication(create_backend_app))))
        self._server: BaseWSGIServer = make_server(host, port, app, True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-endpoint", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmbeddedAws:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
