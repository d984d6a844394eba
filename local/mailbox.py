"""The local stack's mailbox: every message the embedded endpoint's SES accepted, printed as the
sink prints a webhook, so a newcomer sees an email integration's mail arrive.

moto keeps what SES v2 ``SendEmail`` was given (the raw MIME message, the sender and the
destinations); the embedded endpoint lists it at ``GET /_local/ses/sent`` (local/endpoint.py),
and another moto server in its model dump, ``GET /moto-api/data.json``. A poller reads that and
shows what is new. An endpoint with neither (real AWS, LocalStack) shows nothing.

Usage: ``python -m local.mailbox [--endpoint-url URL]`` (``make run`` starts one by itself).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from functools import cached_property
from typing import Any

from local.endpoint import SENT_MAIL_PATH

SHOWN_HEADERS = ("From", "To", "Cc", "Subject", "Date", "X-Secnotify-Id", "X-Secnotify-Test")


@dataclass(frozen=True)
class SentMail:
    """One message SES accepted, parsed."""

    message_id: str  # SES's
    source: str
    destinations: tuple[str, ...]
    raw: str = field(repr=False)

    @cached_property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw.encode("utf-8", "surrogateescape"), policy=default)
        assert isinstance(parsed, EmailMessage)  # the default policy makes these
        return parsed

    def header(self, name: str) -> str | None:
        value = self.message[name]
        return None if value is None else str(value)

    def part(self, subtype: str) -> str:
        """The text of the ``text/<subtype>`` part ("" when there is none), lines ending in LF."""
        body = self.message.get_body(preferencelist=(subtype,))
        text = "" if body is None else str(body.get_content())  # type: ignore[attr-defined]
        return text.replace("\r\n", "\n")


def read_sent(endpoint_url: str, timeout: float = 10.0) -> list[SentMail]:
    """Every message the endpoint's SES accepted, oldest first; [] when it keeps none."""
    base = endpoint_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP endpoint: {endpoint_url}")
    try:
        items = _get(base + SENT_MAIL_PATH, timeout)["messages"]
    except (urllib.error.HTTPError, ValueError, KeyError, TypeError):
        # Not the embedded endpoint: a moto server of its own lists them in its model dump.
        items = _get(base + "/moto-api/data.json", timeout).get("ses", {}).get("RawMessage", [])
    return [
        SentMail(
            message_id=str(item.get("id", "")),
            source=str(item.get("source", "")),
            destinations=tuple(str(d) for d in item.get("destinations", [])),
            raw=str(item.get("raw_data", "")),
        )
        for item in items
    ]


def _get(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - http(s) checked
        return json.loads(answer.read())


def show(mail: SentMail) -> str:
    """A message as the terminal shows it: its headers, where SES sent it, its text part."""
    lines = [f"\n=== mail: {mail.header('Subject') or '(no subject)'}"]
    lines += [f"  {name}: {mail.header(name)}" for name in SHOWN_HEADERS if mail.header(name) is not None]
    # moto lists the To and Cc of the message again after the destinations the request named.
    sent_to = list(dict.fromkeys(mail.destinations))
    lines.append(f"  (SES sent it to {len(sent_to)}: {', '.join(sent_to)})")
    lines.append(mail.part("plain").rstrip())
    return "\n".join(lines)


class Mailbox(threading.Thread):
    """Polls the endpoint and prints each message it has not shown yet (``received`` keeps them)."""

    def __init__(self, endpoint_url: str, interval_s: float = 0.5, quiet: bool = False) -> None:
        super().__init__(name="mailbox", daemon=True)
        self.endpoint_url = endpoint_url
        self.interval_s = interval_s
        self.quiet = quiet
        self.received: list[SentMail] = []
        self.stop = threading.Event()
        # Mail sent before this run (an endpoint that outlives it) is not new.
        try:
            self._seen = {m.message_id for m in read_sent(endpoint_url)}
            self.available = True
        except (urllib.error.URLError, OSError, ValueError):
            self._seen, self.available = set(), False

    def _read(self) -> list[SentMail]:
        try:
            return read_sent(self.endpoint_url)
        except (urllib.error.URLError, OSError, ValueError):
            return []  # a busy or restarting endpoint: the next poll looks again

    def poll(self) -> list[SentMail]:
        """Take in what arrived since the last poll."""
        new = [m for m in self._read() if m.message_id not in self._seen]
        for mail in new:
            self._seen.add(mail.message_id)
            self.received.append(mail)
            if not self.quiet:
                print(show(mail), file=sys.stdout, flush=True)
        return new

    def run(self) -> None:
        while not self.stop.wait(self.interval_s):
            self.poll()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:4566")
    args = parser.parse_args(argv)
    mailbox = Mailbox(args.endpoint_url)
    if not mailbox.available:
        print(f"{args.endpoint_url} keeps no sent mail (it is not a moto server)", file=sys.stderr)
        return 1
    mailbox.start()
    print(f"printing the mail SES on {args.endpoint_url} accepts (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
