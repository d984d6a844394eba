"""The layer's boundaries, checked on the source: boto3 and botocore only in the storage
package, the process environment only in the settings module, the services on ports (not on
storage), and no import cycles."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "secnotify"
SOURCES = sorted([*LAYER.rglob("*.py"), *(ROOT / "functions").rglob("*.py")])


def _imports(tree: ast.AST) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno


def _environment_reads(tree: ast.AST) -> Iterator[int]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "environb", "putenv"}:
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                yield node.lineno
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in {"environ", "getenv", "environb"} for alias in node.names)
        ):
            yield node.lineno


def _module(path: Path) -> str:
    relative = path.relative_to(ROOT / "layers") if path.is_relative_to(LAYER) else path.relative_to(ROOT)
    parts = list(relative.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_sources_are_found() -> None:
    names = {_module(p) for p in SOURCES}
    assert {"secnotify.settings", "secnotify.storage.ledger", "functions.dispatcher.app"} <= names


def test_boto3_only_in_storage() -> None:
    storage = LAYER / "storage"
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in SOURCES
        if not path.is_relative_to(storage)
        for name, line in _imports(ast.parse(path.read_text()))
        if name.split(".")[0] in {"boto3", "botocore"}
    ]
    assert offenders == []


def test_environment_only_in_settings() -> None:
    settings = LAYER / "settings.py"
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in SOURCES
        if path != settings
        for line in _environment_reads(ast.parse(path.read_text()))
    ]
    assert offenders == []


def _module_edges(path: Path) -> set[str]:
    """What a layer module imports at module level: an import inside a function is a deliberate
    lazy edge, and TYPE_CHECKING imports never run."""
    edges: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        edges |= {name for name, _line in _imports(ast.Module(body=[node], type_ignores=[]))}
        if isinstance(node, ast.ImportFrom) and node.module:
            edges |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in edges if name.startswith("secnotify")}


def _cycles(deps: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(deps[node]):
            if nxt.startswith(node + "."):
                continue  # a package importing its own submodules (its __init__ re-exporting)
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(deps):
        if module not in state:
            visit(module, [module])
    return cycles


def test_no_import_cycles_in_the_layer() -> None:
    graph = {_module(path): _module_edges(path) for path in LAYER.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in graph:
            name = name.rpartition(".")[0]
        return name or None

    deps = {m: {r for e in edges if (r := resolve(e)) and r != m} for m, edges in graph.items()}
    assert _cycles(deps) == []


def test_services_depend_on_ports_not_on_storage() -> None:
    """Only the wirings (the config API's and the dispatcher's) pick the adapters; every other
    service module, the ports included, sees storage through the protocols of ``service/ports``
    (and its errors through ``secnotify.errors``)."""
    service = LAYER / "service"
    wirings = {service / "wiring.py", service / "dispatcher_wiring.py"}
    checked = [path for path in sorted(service.rglob("*.py")) if path not in wirings]
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in checked
        for name, line in _imports(ast.parse(path.read_text()))
        if name == "secnotify.storage" or name.startswith("secnotify.storage.")
    ]
    assert len(checked) > 10 and offenders == []
