"""Small helpers shared by the API use cases."""

from __future__ import annotations

import re
import uuid

from secnotify.service.clock import SYSTEM_CLOCK
from secnotify.service.errors import PreconditionFailed

# ASCII digits only: str.isdigit() also takes "²" (int() then raises) and Arabic-Indic digits
# (which int() reads as numbers).
_VERSION_TAG = re.compile(r'"?([0-9]{1,11})"?')


def new_id() -> str:
    return str(uuid.uuid4())


def now_iso() -> str:
    return SYSTEM_CLOCK.iso()


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_version(header: str | None) -> int | None:
    """The version an If-Match header asks for: None when absent or ``*``, -1 when unparseable."""
    if header is None or header.strip() in {"", "*"}:
        return None
    value = header.split(",")[0].strip()
    if value.startswith("W/"):
        return -1  # If-Match compares strongly (RFC 9110): a weak tag never matches
    match = _VERSION_TAG.fullmatch(value)
    return int(match.group(1)) if match else -1


def check_if_match(header: str | None, version: int, what: str) -> None:
    """412 unless If-Match is absent, ``*``, or names the current version."""
    wanted = if_match_version(header)
    if wanted is not None and wanted != version:
        raise PreconditionFailed(f"If-Match: {what} is at version {version}, not {header}")
