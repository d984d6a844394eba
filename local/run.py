"""`make run`: the whole stack on this machine, with no Docker and no AWS account.

- an embedded AWS endpoint (moto server) on 127.0.0.1:4566, unless AWS_ENDPOINT_URL names another;
- the table, queues and EventBridge rules created from template.yaml itself;
- the config API on http://127.0.0.1:3000, through the real handler;
- the dispatcher fed by the template's rule, and by its retry queue;
- a webhook sink on http://127.0.0.1:8080 that prints what it receives.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from local.lambda_runtime import LOCAL_ENV


@dataclass
class Running:
    endpoint: str
    stack: Any
    api: Any
    sink: Any
    pump: Any
    moto: Any = None

    @property
    def own_ports(self) -> tuple[int, ...]:
        """Ports of the stack's own services, which no webhook may reach (the sink is a receiver)."""
        return own_ports(self.endpoint, int(self.api.server_address[1]))

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api.server_address[1]}"

    def stop(self) -> None:
        self.pump.stop.set()
        self.api.shutdown()
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

        moto = EmbeddedAws(port=4566).start()
        endpoint = moto.url
    os.environ["AWS_ENDPOINT_URL"] = endpoint

    from local.provision import provision

    stack = provision(endpoint, region=region, prefix=prefix, parameters=RUN_PARAMETERS)
    os.environ.update(stack.environment())
    _deny_own_ports(own_ports(endpoint, api_port))

    from secnotify.service import wiring

    wiring.reset()

    from local.api_server import serve_api
    from local.pump import Pump
    from local.sink import serve_sink

    api = serve_api(port=api_port)
    if api_port == 0:
        # The port is known only now; nobody can have called the API before it was.
        _deny_own_ports(own_ports(endpoint, int(api.server_address[1])))
        wiring.reset()
    sink = serve_sink(port=sink_port) if sink_port is not None else None
    pump = Pump(endpoint, stack.inbox_queue_url, stack.retry_queue_url, region)
    pump.start()
    return Running(endpoint=endpoint, stack=stack, api=api, sink=sink, pump=pump, moto=moto)


def main() -> None:
    began = time.monotonic()
    running = start()
    stack = running.stack
    own = ", ".join(map(str, running.own_ports))
    findings = ", ".join(
        f"{rule.event_id.removesuffix('FindingEvents')} {'off' if rule.state == 'DISABLED' else 'on'}"
        for rule in stack.rules
        if rule.event_id != "SecurityEvents"
    )
    print(
        f"""
secnotify is running ({time.monotonic() - began:.1f} s to start)

  API            http://127.0.0.1:3000        (try: curl http://127.0.0.1:3000/placeholders)
  API docs       http://127.0.0.1:3000/swagger
  AWS endpoint   {running.endpoint}        (DynamoDB, EventBridge, SQS)
  webhook sink   http://127.0.0.1:8080        (notifications are printed below)
                 (webhooks may reach any loopback port but the stack's own: {own})
  event bus      {stack.event_bus_name}, source {stack.source_name}
                 (make send EVENT=events/eventbridge/opened.json)
  AWS findings   default bus: {findings}
                 (make send EVENT=events/aws/inspector-active.json)

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
