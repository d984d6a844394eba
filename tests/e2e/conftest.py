"""The local stack as `make run` starts it, for the end-to-end tests, and the API over real HTTP."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3


@pytest.fixture
def running(moto_endpoint: str) -> Iterator[Any]:
    from local.run import start
    from secnotify.service import wiring

    saved = dict(os.environ)
    stack = start(endpoint=moto_endpoint, api_port=0, sink_port=0, prefix=f"e{uuid.uuid4().hex[:8]}")
    stack.sink.quiet = True
    yield stack
    stack.stop()
    stack.stack.delete()
    os.environ.clear()
    os.environ.update(saved)
    wiring.reset()


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    resp = urllib3.request(method, url, body=data, headers={"Content-Type": "application/json"}, timeout=20)
    return resp.status, (resp.json() if resp.data else None)
