"""JSON Merge Patch (RFC 7396): what a PATCH does to the object as GET shows it."""

from __future__ import annotations

from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """``patch`` applied to ``target``: an object's members merge, ``null`` removes a member,
    anything else (arrays included) replaces whole. Neither argument is changed.

    Iterative, so a deeply nested patch costs no Python recursion."""
    if not isinstance(patch, dict):
        return patch
    root: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
    pending: list[tuple[dict[str, Any], dict[str, Any]]] = [(root, patch)]
    while pending:
        out, changes = pending.pop()
        for key, value in changes.items():
            if value is None:
                out.pop(key, None)
            elif isinstance(value, dict):
                # Copied on the way down: the target's own objects are never changed.
                child = dict(out[key]) if isinstance(out.get(key), dict) else {}
                out[key] = child
                pending.append((child, value))
            else:
                out[key] = value
    return root
