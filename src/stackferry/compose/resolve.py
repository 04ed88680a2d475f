"""One compose file as compose reads it before merging: every value interpolated, `<<` merge
keys applied, and every host-path field made absolute against the file's base directory
(the project directory for `-f` files, the file's own directory for included and extended
files). The result is a fresh node tree whose nodes keep their line numbers and tags
(`!reset`, `!override`), so merging several files never mixes their base directories.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stackferry.compose.document import (
    Document,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    line_of,
    mapping_items,
)
from stackferry.compose.fields import FieldKind, path_fields
from stackferry.compose.paths import absolute
from stackferry.compose.variables import interpolate

MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"
STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class Interpolation:
    """The variables of one file: `dotenv` (its env files) under `environ` (which wins)."""

    dotenv: Mapping[str, str]
    environ: Mapping[str, str]
    home: str
    sources: tuple[str, ...] = ()  # the env files `dotenv` comes from, the last one winning

    def __call__(self, text: str, line: int | None) -> str:
        return interpolate(text, self.dotenv, self.environ, line)


def resolve_document(doc: Document, env: Interpolation, base_dir: str) -> MappingNode:
    """`doc`'s root, interpolated, merge keys applied, host paths absolute against `base_dir`."""
    kinds = {id(f.node): f.kind for f in path_fields(doc)}
    root = _copy(doc.root, kinds, env, base_dir)
    assert isinstance(root, MappingNode)
    return root


def _copy(
    node: Node, kinds: dict[int, FieldKind], env: Interpolation, base: str, where: str = ""
) -> Node:
    if isinstance(node, ScalarNode):
        value = env(str(node.value), line_of(node))
        kind = kinds.get(id(node))
        if kind is not None:
            value = _absolute_field(kind, value, base, env.home)
        return scalar_like(node, value)
    if isinstance(node, SequenceNode):
        items = [
            _copy(item, kinds, env, base, f"{where}[{index}]")
            for index, item in enumerate(node.value)
        ]
        return SequenceNode(node.tag, items, node.start_mark, node.end_mark)
    pairs = [
        (key, _copy(value, kinds, env, base, f"{where}.{name}" if where else name))
        for name, (key, value) in mapping_items(node, where or "the compose file").items()
    ]
    return MappingNode(node.tag, pairs, node.start_mark, node.end_mark)


def _absolute_field(kind: FieldKind, value: str, base: str, home: str) -> str:
    if kind is FieldKind.VOLUME_SOURCE or not value:
        return value
    if kind is FieldKind.SHORT_VOLUME:
        source, colon, rest = value.partition(":")
        if not colon or not source.startswith((".", "/", "~")):
            return value  # anonymous or named volume
        return absolute(source, base, home) + colon + rest
    if kind in (FieldKind.BUILD_CONTEXT, FieldKind.INCLUDE) and (
        "://" in value or value.startswith(("git@", "github.com/"))
    ):
        return value
    return absolute(value, base, home)


def scalar_like(node: ScalarNode, value: str) -> ScalarNode:
    return ScalarNode(node.tag, value, node.start_mark, node.end_mark, style=node.style)


def new_scalar(value: str, at: Node) -> ScalarNode:
    return ScalarNode(STR_TAG, value, at.start_mark, at.end_mark)


def new_mapping(pairs: list[tuple[ScalarNode, Node]], at: Node, tag: str = MAP_TAG) -> MappingNode:
    return MappingNode(tag, pairs, at.start_mark, at.end_mark)


def plain(node: Node) -> object:
    """A resolved tree as Python data (str scalars, None for null), as `compose config` shows it."""
    if isinstance(node, ScalarNode):
        return None if node.tag == NULL_TAG else str(node.value)
    if isinstance(node, SequenceNode):
        return [plain(item) for item in node.value]
    return {str(key.value): plain(value) for key, value in node.value}
