"""`make send EVENT=file.json`: put a sample event on the local bus, as `aws events put-events` would.

An event from an AWS service (``source`` ``aws.*``) goes on the default bus, where AWS publishes
it and where the template's finding rules listen; any other goes on EVENT_BUS_NAME (default
``default``), where the rule for the ``SourceName`` events listens.
"""

from __future__ import annotations

import json
import os
import sys

import boto3

AWS_SERVICE_BUS = "default"


def bus_for(event: dict, configured: str) -> str:
    """The bus a sample event goes on: the default bus for an AWS service's event, else ``configured``."""
    source = event.get("source")
    return AWS_SERVICE_BUS if isinstance(source, str) and source.startswith("aws.") else configured


def entry(event: dict, bus: str) -> dict:
    """The PutEvents entry of a sample event. EventBridge sets ``id``, ``time``, ``account`` and
    ``region`` itself; a sample without ``detail`` sends no ``Detail``, as the CLI would."""
    out = {
        "Source": event.get("source", "secnotify"),
        "DetailType": event.get("detail-type", "Security Problem Opened"),
        "Resources": event.get("resources", []),
        "EventBusName": bus,
    }
    if "detail" in event:
        out["Detail"] = json.dumps(event["detail"])
    return out


def send_entry(event: dict, configured_bus: str) -> dict:
    """What `make send` puts for ``event``, on the bus ``bus_for`` chooses."""
    return entry(event, bus_for(event, configured_bus))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: make send EVENT=events/eventbridge/opened.json", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as handle:
        event = json.load(handle)
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    client = boto3.client(
        "events",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
    )
    resp = client.put_events(Entries=[send_entry(event, os.environ.get("EVENT_BUS_NAME", "default"))])
    print(json.dumps(resp.get("Entries", []), indent=2))
    return 1 if resp.get("FailedEntryCount") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
