"""`make send EVENT=file.json`: put a sample event on the local bus, as `aws events put-events` would."""

from __future__ import annotations

import json
import os
import sys

import boto3


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
    resp = client.put_events(Entries=[entry(event, os.environ.get("EVENT_BUS_NAME", "default"))])
    print(json.dumps(resp.get("Entries", []), indent=2))
    return 1 if resp.get("FailedEntryCount") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
