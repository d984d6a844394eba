"""`make run`: the whole stack on this machine, with no Docker and no AWS account.

- an embedded AWS endpoint (moto server) on 127.0.0.1:4566, unless AWS_ENDPOINT_URL names another;
- the table, queues and EventBridge rules created from template.yaml itself;
- the config API on http://127.0.0.1:3000, through the real handler;
- the dispatcher fed by the template's rule, and by its retry queue;
- a webhook sink on http://127.0.0.1:8080 that prints what it receives;
- a mailbox that prints every email the endpoint's SES accepted (local/mailbox.py).

``API_PORT``, ``AWS_PORT`` and ``SINK_PORT`` move them; a port in use stops it with one line
naming the variable to change. Everything lives in memory: a restart begins empty.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from local.lambda_runtime import LOCAL_ENV
from secnotify.models.email import sender_address

# `make run`'s ports, each moved by its variable.
DEFAULT_PORTS = {"API_PORT": 3000, "AWS_PORT": 4566, "SINK_PORT": 8080}


class PortProblem(Exception):
    """A port `make run` cannot use; the message names the variable to change."""


def ports_from(environ: Mapping[str, str]) -> dict[str, int]:
    """The ports the variables ask for (an empty one keeps its default), each a distinct port."""
    ports: dict[str, int] = {}
    for name, default in DEFAULT_PORTS.items():
        raw = environ.get(name, "").strip()
        if not raw:
            ports[name] = default
        elif raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 65535:
            ports[name] = int(raw)
        else:
            raise PortProblem(f"{name}={raw!r} is not a port number (1-65535)")
    for name, port in ports.items():
        others = [other for other, p in ports.items() if p == port and other != name]
        if others:
            raise PortProblem(f"{name} and {others[0]} are both {port}; give each a port of its own")
    return ports


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    # SO_REUSEADDR as the servers bind: a connection in TIME_WAIT does not count, a listener does.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def check_ports_free(ports: Mapping[str, int]) -> None:
    busy = [(name, port) for name, port in ports.items() if port_in_use(port)]
    if busy:
        which = " and ".join(f"{port} ({name})" for name, port in busy)
        verb = "is" if len(busy) == 1 else "are"
        raise PortProblem(
            f"port {which} {verb} already in use: stop what holds it or pick another, "
            f"e.g. make run {busy[0][0]}={_free_port()}"
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bind(name: str, port: int, serve: Any) -> Any:
    """``serve()``, with a port taken meanwhile said as ``check_ports_free`` says it."""
    try:
        return serve()
    except OSError as exc:
        raise PortProblem(
            f"port {port} ({name}) already in use: pick another, e.g. make run {name}=..."
        ) from exc


@dataclass
class Running:
    endpoint: str
    stack: Any
    api: Any
    sink: Any
    pump: Any
    moto: Any = None
    mailbox: Any = None
    dynatrace: Any = None  # local.dynatrace_fake.LocalDynatrace, with DYNATRACE_FAKE=1

    @property
    def own_ports(self) -> tuple[int, ...]:
        """Ports of the stack's own services, which no webhook may reach (the sink is a receiver)."""
        return own_ports(self.endpoint, int(self.api.server_address[1]))

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api.server_address[1]}"

    def stop(self) -> None:
        if self.dynatrace is not None:
            self.dynatrace.stop()
        self.pump.stop.set()
        self.pump.join(timeout=30)
        self.api.shutdown()
        if self.mailbox is not None:
            self.mailbox.stop.set()
        if self.sink is not None:
            self.sink.shutdown()
        if self.moto is not None:
            self.moto.stop()


def own_ports(endpoint: str, api_port: int) -> tuple[int, ...]:
    parts = urlsplit(endpoint)
    endpoint_port = parts.port or (443 if parts.scheme == "https" else 80)
    return tuple(sorted({endpoint_port, api_port} - {0}))


def _deny_own_ports(ports: tuple[int, ...]) -> None:
    # Loopback is allowed so local receivers work; the endpoint and the API stay out of reach.
    os.environ["SSRF_DENY_PORTS"] = ",".join(str(port) for port in ports)


# Someone trying the stack creates an integration and sends an event at once: the dispatcher
# reloads its configuration a second after a change and waits for it (in AWS: 15 s, then in the
# background up to 60 s).
RUN_PARAMETERS = {"ConfigCacheTtlSeconds": "1", "ConfigMaxAgeSeconds": "0"}


def start(
    endpoint: str | None = None,
    api_port: int = 3000,
    sink_port: int | None = 8080,
    prefix: str = "secnotify",
    aws_port: int = 4566,
    dynatrace_fake: bool = False,
) -> Running:
    """Start every part; tests drive the same stack (port 0 picks a free port)."""
    for key, value in LOCAL_ENV.items():
        os.environ.setdefault(key, value)
    # The embedded endpoint logs every request; the sink's output is what a newcomer watches.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    region = os.environ["AWS_DEFAULT_REGION"]
    moto = None
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint is None:
        from local.endpoint import EmbeddedAws

        moto = _bind("AWS_PORT", aws_port, lambda: EmbeddedAws(port=aws_port).start())
        endpoint = moto.url
    os.environ["AWS_ENDPOINT_URL"] = endpoint

    from local.provision import provision

    stack = provision(endpoint, region=region, prefix=prefix, parameters=RUN_PARAMETERS)
    os.environ.update(stack.environment())
    _deny_own_ports(own_ports(endpoint, api_port))

    from secnotify.service import wiring

    wiring.reset()

    from local.api_server import serve_api
    from local.mailbox import Mailbox
    from local.pump import Pump
    from local.sink import serve_sink

    api = _bind("API_PORT", api_port, lambda: serve_api(port=api_port))
    if api_port == 0:
        # The port is known only now; nobody can have called the API before it was.
        _deny_own_ports(own_ports(endpoint, int(api.server_address[1])))
        wiring.reset()
    sink = (
        _bind("SINK_PORT", sink_port, lambda: serve_sink(port=sink_port)) if sink_port is not None else None
    )
    pump = Pump(endpoint, stack.inbox_queue_url, stack.retry_queue_url, region)
    pump.start()
    mailbox = Mailbox(endpoint) if stack.email_identity else None
    if mailbox is not None and mailbox.available:
        mailbox.start()
    dynatrace = _start_dynatrace(endpoint, region, stack) if dynatrace_fake else None
    return Running(
        endpoint=endpoint,
        stack=stack,
        api=api,
        sink=sink,
        pump=pump,
        moto=moto,
        mailbox=mailbox,
        dynatrace=dynatrace,
    )


def _start_dynatrace(endpoint: str, region: str, stack: Any) -> Any:
    """The Dynatrace fake, its token secret, and the poller every DynatracePollMinutes, playing
    the walk-through (README "Dynatrace ingest") a little slower than it polls."""
    from local.cfn import load_template, resolve_parameters
    from local.dynatrace_fake import LocalDynatrace

    poll_s = float(resolve_parameters(load_template())["DynatracePollMinutes"]) * 60
    environment = stack.environment("DynatraceIngestFunction")
    return LocalDynatrace(endpoint, region, environment, poll_s=poll_s, script_pause_s=poll_s + 10).start()


def _email_line(running: Running) -> str:
    identity = running.stack.email_identity
    if not identity:
        return "off (EmailSenderIdentity is empty)"
    printed = running.mailbox is not None and running.mailbox.available
    shown = "mail SES accepted is printed below" if printed else "this endpoint keeps no mail to print"
    return f"from {sender_address(identity)}, through the endpoint's SES ({shown})"


def _dynatrace_line(running: Running) -> str:
    if running.dynatrace is None:
        return "off (make run DYNATRACE_FAKE=1 polls a local fake of the API)"
    minutes = running.dynatrace.poll_s / 60
    return (
        f"fake at {running.dynatrace.fake.url}, polled every {minutes:g} min; a problem opens, "
        "changes risk, resolves and reopens, one step per poll"
    )


def main() -> None:
    began = time.monotonic()
    try:
        ports = ports_from(os.environ)
        own_endpoint = not os.environ.get("AWS_ENDPOINT_URL")
        check_ports_free({k: v for k, v in ports.items() if own_endpoint or k != "AWS_PORT"})
        running = start(
            api_port=ports["API_PORT"],
            sink_port=ports["SINK_PORT"],
            aws_port=ports["AWS_PORT"],
            dynatrace_fake=os.environ.get("DYNATRACE_FAKE", "").strip() == "1",
        )
    except PortProblem as exc:
        sys.exit(f"make run: {exc}")
    stack = running.stack
    api, sink = running.api_url, f"http://127.0.0.1:{ports['SINK_PORT']}"
    own = ", ".join(map(str, running.own_ports))
    findings = ", ".join(
        f"{rule.event_id.removesuffix('FindingEvents')} {'off' if rule.state == 'DISABLED' else 'on'}"
        for rule in stack.rules
        if rule.event_id != "SecurityEvents"
    )
    print(
        f"""
secnotify is running ({time.monotonic() - began:.1f} s to start)

  API            {api}        (try: curl {api}/placeholders)
  API docs       {api}/swagger
  AWS endpoint   {running.endpoint}        (DynamoDB, EventBridge, SQS, KMS, SES)
  webhook sink   {sink}        (notifications are printed below)
                 (webhooks may reach any loopback port but the stack's own: {own})
  email          {_email_line(running)}
  event bus      {stack.event_bus_name}, source {stack.source_name}
                 (make send EVENT=events/eventbridge/opened.json)
  AWS findings   default bus: {findings}
                 (make send EVENT=events/aws/inspector-active.json)

  Dynatrace      {_dynatrace_line(running)}

Everything is kept in memory: a restart begins with no profiles and no integrations
(`GET /config/export` before stopping, `POST /config/apply` after, carries them over).
Ctrl-C stops everything.""",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)


if __name__ == "__main__":
    main()
