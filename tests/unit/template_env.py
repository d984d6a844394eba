"""What a function's environment variables are made of: the environment local.cfn gives a function,
with every parameter read as ``!Ref Parameter`` and every resource attribute as ``!Ref Resource``
or ``!GetAtt Resource.Attribute``, so a test can tell where each value comes from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local.cfn import Resolver, function_environment


class _AnyAttribute(dict[str, str]):
    """Every attribute of one resource, each naming itself."""

    def __init__(self, logical_id: str) -> None:
        super().__init__()
        self.logical_id = logical_id

    def __contains__(self, attribute: object) -> bool:
        return isinstance(attribute, str)

    def __missing__(self, attribute: str) -> str:
        return f"!Ref {self.logical_id}" if attribute == "Ref" else f"!GetAtt {self.logical_id}.{attribute}"


def traced_environment(template: Mapping[str, Any], function: str) -> dict[str, str]:
    resolver = Resolver(
        template=template,
        parameters={name: f"!Ref {name}" for name in template.get("Parameters", {})},
        resources={logical_id: _AnyAttribute(logical_id) for logical_id in template["Resources"]},
    )
    return function_environment(template, resolver, function)
