"""Which parser reads an AWS security finding event: one per documented (source, detail-type).

An event of any other pair is no AWS finding event, so ``parse_findings`` gives None and the caller
reads it with the ``secnotify`` parser; that includes an event that is not a JSON object at all,
which that parser then reports as malformed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from secnotify.models.finding import FindingSnapshot
from secnotify.sources import guardduty, inspector, securityhub_asff, securityhub_ocsf

FindingParser = Callable[[Mapping[str, Any]], list[FindingSnapshot]]

FINDING_PARSERS: Mapping[tuple[str, str], FindingParser] = MappingProxyType(
    {
        ("aws.inspector2", inspector.DETAIL_TYPE): inspector.parse_inspector,
        ("aws.securityhub", securityhub_asff.DETAIL_TYPE): securityhub_asff.parse_securityhub_asff,
        ("aws.securityhub", securityhub_ocsf.DETAIL_TYPE): securityhub_ocsf.parse_securityhub_ocsf,
        ("aws.guardduty", guardduty.DETAIL_TYPE): guardduty.parse_guardduty,
    }
)


def parse_findings(event: object) -> list[FindingSnapshot] | None:
    """The snapshots of an AWS finding event; None when ``event`` is none (see the module
    docstring); ``MalformedEvent`` when it is one that cannot be read."""
    if not isinstance(event, Mapping):
        return None
    source, detail_type = event.get("source"), event.get("detail-type")
    if not isinstance(source, str) or not isinstance(detail_type, str):
        return None  # a list or object here is unhashable, and no known pair anyway
    parser = FINDING_PARSERS.get((source, detail_type))
    return None if parser is None else parser(event)
