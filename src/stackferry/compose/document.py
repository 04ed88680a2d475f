"""The compose file as a ruamel.yaml node graph whose scalars know their exact bytes.

Rewrites splice new scalar text into the original string instead of dumping the
document again: every comment, key order, quote, anchor, indent and line width the
user wrote survives, and a document with nothing to rewrite comes back byte-identical
(a round-trip dump would re-indent sequences and re-wrap long lines).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.tokens import ScalarToken

from stackferry.compose.errors import ComposeError

__all__ = ["MappingNode", "Node", "ScalarNode", "SequenceNode"]


def line_of(node: Node) -> int:
    """1-based line where `node` starts."""
    return int(node.start_mark.line) + 1


@dataclass(frozen=True)
class ScalarSpan:
    """Where a scalar's text lies in the document (after any anchor or tag) and its style."""

    start: int
    end: int
    style: str | None


@dataclass(frozen=True)
class Document:
    text: str
    root: MappingNode
    spans: dict[int, ScalarSpan]

    def span(self, node: ScalarNode) -> ScalarSpan:
        return self.spans[int(node.end_mark.index)]


def parse(text: str) -> Document:
    """Parse a compose file; anything but one YAML mapping is a ComposeError naming the line."""
    yaml = YAML(typ="rt")
    try:
        root = yaml.compose(text)
        tokens = [token for token in yaml.scan(text) if isinstance(token, ScalarToken)]
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = int(mark.line) + 1 if mark is not None else None
        column = f" at column {int(mark.column) + 1}" if mark is not None else ""
        problem = error.problem or error.context
        raise ComposeError(f"not valid YAML{column}: {problem}", line) from None
    except YAMLError as error:
        raise ComposeError(f"not valid YAML: {error}") from None
    if root is None:
        raise ComposeError("the compose file is empty")
    if not isinstance(root, MappingNode):
        raise ComposeError("a compose file must be a mapping at the top level", line_of(root))
    spans = {
        int(token.end_mark.index): ScalarSpan(
            int(token.start_mark.index), int(token.end_mark.index), token.style
        )
        for token in tokens
    }
    return Document(text, root, spans)


def mapping_items(node: Node, what: str) -> dict[str, tuple[ScalarNode, Node]]:
    """Keys of a mapping node with YAML merge keys (`<<: *x`) applied; explicit keys win."""
    if not isinstance(node, MappingNode):
        raise ComposeError(f"{what} must be a mapping", line_of(node))
    own: dict[str, tuple[ScalarNode, Node]] = {}
    merged: dict[str, tuple[ScalarNode, Node]] = {}
    for key, value in node.value:
        if not isinstance(key, ScalarNode):
            raise ComposeError(f"{what} has a key that is not a string", line_of(key))
        if key.tag == "tag:yaml.org,2002:merge" or key.value == "<<":
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for source in sources:
                for name, item in mapping_items(source, f"merge into {what}").items():
                    merged.setdefault(name, item)
            continue
        if key.value in own:
            raise ComposeError(f"{what} has the key {key.value!r} twice", line_of(key))
        own[key.value] = (key, value)
    return {**merged, **own}


def scalar_text(node: Node, what: str) -> str:
    if not isinstance(node, ScalarNode):
        raise ComposeError(f"{what} must be a string", line_of(node))
    return str(node.value)


def is_null(node: Node) -> bool:
    # `!reset` on a scalar (`key: !reset`, `key: !reset null`) clears the key: nothing to read.
    return isinstance(node, ScalarNode) and node.tag in ("tag:yaml.org,2002:null", "!reset")


_PLAIN_CANDIDATE = re.compile(r"[A-Za-z0-9_./~$][^\s#]*")
_FLOW_INDICATORS = set(",[]{}")


def render_scalar(value: str, style: str | None, in_flow: bool) -> str | None:
    """YAML text for `value` in the user's quoting style; None for block scalars (`|`, `>`)."""
    if style in ("|", ">"):
        return None
    if style is None and _reads_back_as_plain(value, in_flow):
        return value
    if style in (None, "'") and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value, ensure_ascii=False)


def _reads_back_as_plain(value: str, in_flow: bool) -> bool:
    if not _PLAIN_CANDIDATE.fullmatch(value) or value.endswith(":"):
        return False
    if in_flow and _FLOW_INDICATORS & set(value):
        return False
    # "~", "123", "true" would read back as null, int, bool: check with the real loader.
    return bool(YAML(typ="safe").load(value) == value)


def splice(text: str, replacements: list[tuple[ScalarSpan, str]]) -> str:
    """`text` with each span replaced; spans must not overlap."""
    for span, new in sorted(replacements, key=lambda item: item[0].start, reverse=True):
        text = text[: span.start] + new + text[span.end :]
    return text


def scalar_values(node: Node, location: str = "") -> Iterator[tuple[str, ScalarNode]]:
    """Every scalar value (not key) under `node`, with its location, aliases followed once."""
    yield from _scalar_values(node, location, set())


def _scalar_values(node: Node, location: str, seen: set[int]) -> Iterator[tuple[str, ScalarNode]]:
    if isinstance(node, ScalarNode):
        yield location, node
        return
    if id(node) in seen:  # an alias of a node that holds itself
        return
    seen = seen | {id(node)}
    if isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _scalar_values(item, f"{location}[{index}]", seen)
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            name = str(key.value) if isinstance(key, ScalarNode) else "?"
            yield from _scalar_values(value, f"{location}.{name}" if location else name, seen)
