"""The AST rewrite of the Jinja path: every output goes through the escaper for its position
(found by :mod:`secnotify.templating.scanner`), and loops and ``~`` get budget guards.

The filters named here are registered on the sandboxed environment: ``_sn_out_*``, ``_sn_ph_*``
``_sn_cap``, ``_sn_secret`` and ``_sn_receiver`` by :mod:`secnotify.templating.jinja_engine`,
``_sn_iter`` and ``_sn_concat`` by :mod:`secnotify.templating.sandbox`.
"""

from __future__ import annotations

from jinja2 import nodes
from jinja2.visitor import NodeTransformer

from secnotify.models.named_secrets import SECRET_NAME
from secnotify.templating.errors import TemplateError
from secnotify.templating.escaping import Mode
from secnotify.templating.placeholders import RECEIVER, SECRET
from secnotify.templating.scanner import Scanner, placeholders_in


def _filter(node: nodes.Expr, name: str, lineno: int) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=lineno)


class OutputRewriter:
    """Walks the AST in source order, feeding the scanner its literal text and values.

    Text captured by ``{% macro %}`` or ``{% set %}...{% endset %}`` is not output where it
    stands; it is kept raw (and counted) and escaped where it is finally output.
    """

    def __init__(self, mode: Mode, source: str = "") -> None:
        self.mode = mode
        self.scan = Scanner(mode, source)

    def visit(self, node: nodes.Node, captured: bool) -> None:
        if isinstance(node, nodes.Output):
            node.nodes = self._rewrite(node.nodes, captured)
            return
        if isinstance(node, nodes.Macro | nodes.AssignBlock):
            for child in node.body:
                self.visit(child, captured=True)
            return
        for child in node.iter_child_nodes():
            self.visit(child, captured)

    def _suffix(self, in_string: bool, captured: bool) -> str:
        if captured:
            return "cap"
        if self.mode == "json":
            return "json_s" if in_string else "json_v"
        return f"{self.mode}_v"

    def _literal(self, text: str, lineno: int, captured: bool) -> nodes.Expr:
        if captured:
            return _filter(nodes.Const(text, lineno=lineno), "_sn_cap", lineno)
        self.scan.literal(text)
        return nodes.TemplateData(text, lineno=lineno)

    def _rewrite(self, children: list[nodes.Expr], captured: bool) -> list[nodes.Expr]:
        out: list[nodes.Expr] = []
        for child in children:
            if isinstance(child, nodes.TemplateData):
                out += self._rewrite_text(child.data, child.lineno, captured)
                continue
            in_string = self.scan.value(child.lineno, output=not captured)
            name = "_sn_cap" if captured else f"_sn_out_{self._suffix(in_string, captured)}"
            out.append(_filter(child, name, child.lineno))
        return out

    def _rewrite_text(self, text: str, lineno: int, captured: bool) -> list[nodes.Expr]:
        """Literal text with each placeholder in it turned into a value lookup."""
        out: list[nodes.Expr] = []
        pos = 0
        for placeholder in placeholders_in(text):
            if placeholder.start > pos:
                out.append(self._literal(text[pos : placeholder.start], lineno, captured))
            line = lineno + text.count("\n", 0, placeholder.start)
            in_string = self.scan.placeholder(placeholder, line, output=not captured)
            if placeholder.key is not None:
                name = f"_sn_ph_{self._suffix(in_string, captured)}"
                out.append(_filter(nodes.Const(placeholder.key, lineno=line), name, line))
            pos = placeholder.end
        if pos < len(text):
            out.append(self._literal(text[pos:], lineno + text.count("\n", 0, pos), captured))
        return out


class GuardInserter(NodeTransformer):
    """Loops tick the clock per iteration; ``~`` concatenations are size-checked."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        assert isinstance(node.iter, nodes.Expr)
        node.iter = _filter(node.iter, "_sn_iter", node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _filter(nodes.List(node.nodes, lineno=node.lineno), "_sn_concat", node.lineno)


class SecretAccess(NodeTransformer):
    """``Secret.name`` and ``Secret['name']`` become lookups of that one secret, and
    ``Receiver.name`` and ``Receiver['name']`` of that one receiver reference, so the names a
    template uses are known when it compiles (a save refuses one the integration lacks, and a
    render is given only those). Any other use of ``Secret`` or ``Receiver`` is left for the name
    check to refuse. Runs first, on the template as written: the internal ``_sn_*`` filters are
    refused there."""

    def __init__(self) -> None:
        self.names: set[str] = set()  # the secrets
        self.receiver_names: set[str] = set()

    def _lookup(self, namespace: str, name: object, lineno: int) -> nodes.Expr:
        if not isinstance(name, str) or not SECRET_NAME.match(name):
            what = "a secret name" if namespace == SECRET else "a reference name"
            raise TemplateError(
                f"{namespace}[...] takes {what}: a letter, then up to 63 letters, digits or underscores",
                line=lineno,
            )
        if namespace == SECRET:
            self.names.add(name)
            return _filter(nodes.Const(name, lineno=lineno), "_sn_secret", lineno)
        self.receiver_names.add(name)
        return _filter(nodes.Const(name, lineno=lineno), "_sn_receiver", lineno)

    @staticmethod
    def _namespace(node: nodes.Getattr | nodes.Getitem) -> str | None:
        target = node.node
        if isinstance(target, nodes.Name) and target.name in (SECRET, RECEIVER) and target.ctx == "load":
            return target.name
        return None

    def visit_Getattr(self, node: nodes.Getattr) -> nodes.Node:
        namespace = self._namespace(node)
        if namespace is not None:
            return self._lookup(namespace, node.attr, node.lineno)
        self.generic_visit(node)
        return node

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        namespace = self._namespace(node)
        if namespace is not None and isinstance(node.arg, nodes.Const):
            return self._lookup(namespace, node.arg.value, node.lineno)
        self.generic_visit(node)
        return node

    def visit_Filter(self, node: nodes.Filter) -> nodes.Node:
        if node.name.startswith("_sn_"):
            raise TemplateError(f"filter {node.name} is internal to secnotify", line=node.lineno)
        self.generic_visit(node)
        return node
