"""A pure evaluator for the CloudFormation and SAM constructs that template.yaml uses.

It loads the template (short tags included), checks parameter values, and evaluates intrinsic
functions, conditions, mappings and pseudo parameters. Resources it cannot create itself: whoever
creates them (``local.provision``) records their attributes in ``Resolver.resources``. No boto3, no
network, no side effects, so the template's semantics can be tested in milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"
# moto's fixed account; only used to resolve ${AWS::AccountId} in local values.
LOCAL_ACCOUNT_ID = "123456789012"

_SHORT_TAGS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
)


class CfnLoader(yaml.SafeLoader):
    """A safe YAML loader that turns CloudFormation short tags into their long ``Fn::`` form."""


def _node_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", node.start_mark)


def _add_tag(tag: str, key: str) -> None:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {key: _node_value(loader, node)}

    CfnLoader.add_constructor(f"!{tag}", construct)


def _construct_get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _node_value(loader, node)
    if isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        value = [logical_id, attribute]
    return {"Fn::GetAtt": value}


_add_tag("Ref", "Ref")
_add_tag("Condition", "Condition")
for _tag in _SHORT_TAGS:
    _add_tag(_tag, f"Fn::{_tag}")
CfnLoader.add_constructor("!GetAtt", _construct_get_att)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """template.yaml as plain data, intrinsic functions in their long form (``{"Ref": ...}``)."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=CfnLoader)  # noqa: S506 - CfnLoader derives from SafeLoader
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{path} is not a CloudFormation template")
    return data


def resources_of_type(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The template's resources of one ``Type``, by logical id, in template order."""
    resources: Mapping[str, dict[str, Any]] = template["Resources"]
    return {logical_id: res for logical_id, res in resources.items() if res["Type"] == kind}


def function_events(template: Mapping[str, Any], function: str, kind: str) -> dict[str, dict[str, Any]]:
    """The ``Properties`` of a SAM function's event sources of one ``Type``, by event id."""
    events: Mapping[str, Any] = template["Resources"][function].get("Properties", {}).get("Events", {})
    return {
        event_id: event.get("Properties", {}) for event_id, event in events.items() if event["Type"] == kind
    }


class _NoValue:
    """``AWS::NoValue``: the property it sits in is dropped."""


NO_VALUE = _NoValue()


class UnsupportedIntrinsic(LookupError):
    """An intrinsic function this evaluator does not implement."""


def _checked_parameter(name: str, spec: Mapping[str, Any], value: str) -> str:
    if spec.get("Type") == "Number":
        _check_number(name, spec, value)
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in {str(a) for a in allowed}:
        raise ValueError(f"parameter {name}={value!r} is not one of {allowed}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(pattern, value):
        raise ValueError(f"parameter {name}={value!r} does not match {pattern}")
    return value


def _check_number(name: str, spec: Mapping[str, Any], value: str) -> None:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"parameter {name}={value!r} is not a number") from None
    if "MinValue" in spec and number < float(spec["MinValue"]):
        raise ValueError(f"parameter {name}={value!r} is less than its MinValue {spec['MinValue']}")
    if "MaxValue" in spec and number > float(spec["MaxValue"]):
        raise ValueError(f"parameter {name}={value!r} is more than its MaxValue {spec['MaxValue']}")


def resolve_parameters(
    template: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Parameter values as CloudFormation would see them: the overrides, else the defaults."""
    declared: Mapping[str, Any] = template.get("Parameters", {})
    given = dict(overrides or {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ValueError(f"unknown template parameter(s): {', '.join(unknown)}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given:
            value = str(given[name])
        elif "Default" in spec:
            value = str(spec["Default"])
        else:
            raise ValueError(f"parameter {name} has no default and no value was given")
        values[name] = _checked_parameter(name, spec, value)
    return values


_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass
class Resolver:
    """Evaluates the intrinsic functions of one template.

    ``resources`` maps a logical id to the attributes of its created counterpart; ``"Ref"`` is what
    ``!Ref`` gives. Anything without a counterpart raises ``LookupError`` naming it, so a template
    change the local stack cannot follow fails loudly instead of producing a wrong environment.
    """

    template: Mapping[str, Any]
    parameters: Mapping[str, str]
    region: str = "us-east-1"
    stack_name: str = "secnotify"
    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    account_id: str = LOCAL_ACCOUNT_ID

    def pseudo(self, name: str) -> Any:
        """The value of a pseudo parameter such as ``AWS::Region``."""
        pseudo: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::NoValue": NO_VALUE,
        }
        if name not in pseudo:
            raise LookupError(f"pseudo parameter {name} has no local value")
        return pseudo[name]

    def ref(self, name: str) -> Any:
        """``!Ref name``: a pseudo parameter, a parameter, or a created resource."""
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        return self.get_att(name, "Ref")

    def get_att(self, logical_id: str, attribute: str) -> str:
        """``!GetAtt logical_id.attribute`` of a created resource."""
        attributes = self.resources.get(logical_id)
        if attributes is None or attribute not in attributes:
            what = "!Ref" if attribute == "Ref" else f"!GetAtt .{attribute}"
            raise LookupError(f"{what} {logical_id}: no local counterpart")
        return attributes[attribute]

    def condition(self, name: str) -> bool:
        """The value of a condition declared in the template's ``Conditions``."""
        conditions: Mapping[str, Any] = self.template.get("Conditions", {})
        if name not in conditions:
            raise LookupError(f"condition {name} is not declared")
        return bool(self.value(conditions[name]))

    def sub(self, argument: Any) -> str:
        """``!Sub``, in its string and its ``[text, variables]`` form."""
        if isinstance(argument, list):
            text, variables = argument[0], {k: self.value(v) for k, v in argument[1].items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, _, attribute = name.partition(".")
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def find_in_map(self, argument: Any) -> Any:
        """``!FindInMap [map, top-level key, second-level key]`` over the template's ``Mappings``."""
        map_name, top, second = (str(self.value(a)) for a in argument)
        mappings: Mapping[str, Any] = self.template.get("Mappings", {})
        try:
            return mappings[map_name][top][second]
        except (KeyError, TypeError):
            raise LookupError(f"!FindInMap [{map_name}, {top}, {second}]: no such entry") from None

    def value(self, node: Any) -> Any:
        """``node`` with every intrinsic function evaluated and ``AWS::NoValue`` properties dropped."""
        if isinstance(node, list):
            items = [self.value(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, argument),) = node.items()
            intrinsic = _INTRINSICS.get(key)
            if intrinsic is not None:
                return intrinsic(self, argument)
            if key.startswith("Fn::"):
                raise UnsupportedIntrinsic(
                    f"{key} is not supported by the local CloudFormation evaluator"
                    f" (it supports {', '.join(sorted(_INTRINSICS))})"
                )
        resolved = {key: self.value(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}


def _get_att(resolver: Resolver, argument: Any) -> str:
    if isinstance(argument, str):
        logical_id, _, attribute = argument.partition(".")
    else:
        logical_id, attribute = argument
    return resolver.get_att(logical_id, attribute)


def _if(resolver: Resolver, argument: Any) -> Any:
    name, when_true, when_false = argument
    return resolver.value(when_true if resolver.condition(name) else when_false)


def _equals(resolver: Resolver, argument: Any) -> bool:
    left, right = (resolver.value(a) for a in argument)
    return str(left) == str(right)


def _join(resolver: Resolver, argument: Any) -> str:
    separator, items = argument
    return str(separator).join(str(i) for i in resolver.value(items))


def _split(resolver: Resolver, argument: Any) -> list[str]:
    separator, text = argument
    return str(resolver.value(text)).split(separator)


def _select(resolver: Resolver, argument: Any) -> Any:
    index, items = argument
    return resolver.value(items)[int(resolver.value(index))]


_INTRINSICS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": Resolver.ref,
    "Condition": Resolver.condition,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": Resolver.sub,
    "Fn::FindInMap": Resolver.find_in_map,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": lambda resolver, argument: not resolver.value(argument[0]),
    "Fn::And": lambda resolver, argument: all(resolver.value(a) for a in argument),
    "Fn::Or": lambda resolver, argument: any(resolver.value(a) for a in argument),
    "Fn::Join": _join,
    "Fn::Split": _split,
    "Fn::Select": _select,
}


_RULE_STATES = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")


def rule_state(resolver: Resolver, properties: Mapping[str, Any]) -> str:
    """The ``State`` SAM gives the rule of an ``EventBridgeRule`` event: its ``State``, else its
    ``Enabled`` flag, else ENABLED."""
    if "State" in properties and "Enabled" in properties:
        raise ValueError("an EventBridgeRule event cannot have both State and Enabled")
    if "Enabled" in properties:
        enabled = resolver.value(properties["Enabled"])
        return "ENABLED" if enabled is True or str(enabled).lower() == "true" else "DISABLED"
    state = str(resolver.value(properties.get("State", "ENABLED")))
    if state not in _RULE_STATES:
        raise ValueError(f"rule State {state!r} is not one of {', '.join(_RULE_STATES)}")
    return state


def function_environment(template: Mapping[str, Any], resolver: Resolver, function: str) -> dict[str, str]:
    """The environment a function gets in AWS: Globals, then the function's own, resolved."""
    merged: dict[str, Any] = dict(
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    resource = template["Resources"][function]
    merged.update(resource.get("Properties", {}).get("Environment", {}).get("Variables", {}))
    resolved = resolver.value(merged)
    return {name: str(value) for name, value in resolved.items()}
