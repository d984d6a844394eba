"""The largest configuration the dispatcher can be asked to load: 1,000 integrations at the size
caps, created through the config API's service layer (every save check applies), then loaded the
way a cold or expiring dispatcher cache loads them, timed. Prints bytes, query pages and time.

    PYTHONPATH=layers:. .venv/bin/python -m bench.config_scale [--integrations 1000] [--loads 5]

Two shapes of "largest": ``bytes`` (values that JSON doubles, a payload of escaped control
characters: the most stored bytes) and ``secrets`` (100 secret headers each: the most values
to unseal on load).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from typing import Any

from bench.infra import BASE_ENV, Children, median
from secnotify.models.integration import MAX_HEADER_BYTES
from secnotify.models.integration_api import IntegrationInput


def _headers(secret: bool) -> list[dict[str, Any]]:
    """100 headers (the most allowed) whose names and values fill the byte cap exactly."""
    content_type = {"name": "Content-Type", "value": "text/plain"}
    room = MAX_HEADER_BYTES - len("Content-Typetext/plain")
    names = [f"X-{i:02d}" for i in range(99)]
    room -= sum(len(n) for n in names)
    out = [content_type]
    for i, name in enumerate(names):
        size = room // 99 + (1 if i < room % 99 else 0)
        # '"' is one byte of UTF-8 and two in the stored JSON; a sealed value grows by 4/3.
        out.append({"name": name, "value": ("s" if secret else '"') * size, "secret": secret})
    return out


def _largest_name(n: int) -> str:
    """The ``n``-th of distinct longest names (unique within a stack): ``"`` and ``\\`` are both
    two bytes in the stored JSON, so ``n`` in binary keeps each one as large as ``'"' * 100``."""
    return "".join("\\" if n >> bit & 1 else '"' for bit in range(100))


def max_size_input(profile_id: str, shape: str, max_payload: int, n: int = 0) -> IntegrationInput:
    return IntegrationInput.model_validate(
        {
            "displayName": _largest_name(n),
            "alertingProfileId": profile_id,
            "webhook": {
                "url": "https://hooks.example.com/" + "a" * (1000 - len("https://hooks.example.com/")),
                "headers": _headers(secret=shape == "secrets"),
                # A control character is stored as a six-byte \\u escape.
                "payload": "\x01" * max_payload,
            },
            "signingSecret": "whsec_" + "A" * 194,
        }
    )


def measure(integrations: int, loads: int, shape: str, children: Children) -> dict[str, Any]:
    from local.provision import CONFIG_API, provision
    from secnotify.models.profile import AlertingProfileInput
    from secnotify.service import wiring
    from secnotify.service.config_cache import load_configuration
    from secnotify.storage.client import query_pages
    from secnotify.storage.config_repository import item_size
    from secnotify.storage.dynamodb import open_storage
    from secnotify.storage.keys import CONFIG_PK

    endpoint = children.moto()  # a fresh server per shape: moto copies the table per transaction
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    stack = provision(endpoint, prefix=f"scale{uuid.uuid4().hex[:8]}")
    os.environ.update(stack.environment(CONFIG_API))
    wiring.reset()
    services = wiring.api_services()
    profile = services.profiles.create(AlertingProfileInput(name="all"))
    max_payload = services.integrations.settings.max_payload_chars
    inputs = [max_size_input(profile.id, shape, max_payload, n) for n in range(integrations)]
    started = time.perf_counter()
    for data in inputs:
        services.integrations.create(data)
    created_s = time.perf_counter() - started

    # What the dispatcher's query reads: every page of the configuration partition.
    settings = services.integrations.settings
    pages, stored, largest = 0, 0, 0
    for page in query_pages(open_storage(settings.table_name).client, settings.table_name, CONFIG_PK):
        pages += 1
        sizes = [item_size(item) for item in page]
        stored += sum(sizes)
        largest = max([largest, *sizes])

    cache = wiring.dispatcher().config
    times, queries = [], []
    for _ in range(loads):
        began = time.perf_counter()
        config = load_configuration(cache.repository, cache.secrets)  # what each cache refill runs
        times.append(time.perf_counter() - began)
        began = time.perf_counter()
        cache.repository.load_config()  # its queries alone, without unsealing and validation
        queries.append(time.perf_counter() - began)
    assert len(config.integrations) == integrations
    return {
        "shape": shape,
        "integrations": integrations,
        "created_s": created_s,
        "stored_bytes": stored,
        "largest_item": largest,
        "pages": pages,
        "load_median_s": median(times),
        "load_max_s": max(times),
        "query_median_s": median(queries),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--integrations", type=int, default=1000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--shape", choices=("bytes", "secrets", "both"), default="both")
    args = parser.parse_args(argv)
    os.environ.update(BASE_ENV)
    os.environ.pop("AWS_PROFILE", None)
    import logging

    logging.disable(logging.INFO)
    children = Children()
    try:
        for shape in ("bytes", "secrets") if args.shape == "both" else (args.shape,):
            r = measure(args.integrations, args.loads, shape, children)
            print(
                f"{r['shape']:>7}: {r['integrations']} integrations, largest item {r['largest_item']:,} B, "
                f"configuration {r['stored_bytes']:,} B in {r['pages']} query pages; "
                f"load {r['load_median_s'] * 1000:.0f} ms median, {r['load_max_s'] * 1000:.0f} ms max "
                f"of {args.loads}, its queries alone {r['query_median_s'] * 1000:.0f} ms "
                f"(created in {r['created_s']:.0f} s)",
                flush=True,
            )
    finally:
        children.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
