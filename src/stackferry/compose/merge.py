"""Merging compose files as the compose specification says (`-f a -f b`, overrides, extends).

Mappings merge by key and sequences append, except: `command`, `entrypoint` and
`healthcheck.test` are replaced; a service's `volumes`, `devices`, `secrets` and `configs` are
unique by target and `ports` by {ip, target, published, protocol} (a later entry replaces an
earlier one in place); a value repeated in lists such as `cap_add` or `dns` is kept once;
fields written either as a list of `KEY=VALUE` or as a mapping (`environment`, `labels`,
`build.args`, `depends_on`, `networks`, ...) merge by key whichever form each file uses.
`!reset` drops what the earlier files set; `!override` replaces it whole.
Works on the resolved node trees of resolve.py (values interpolated, paths absolute).
"""

from __future__ import annotations

from collections.abc import Callable

from stackferry.compose.document import MappingNode, Node, ScalarNode, SequenceNode
from stackferry.compose.resolve import MAP_TAG, NULL_TAG, SEQ_TAG, new_scalar

RESET = "!reset"
OVERRIDE = "!override"

_REPLACED = {("command",), ("entrypoint",), ("healthcheck", "test")}
# Fields of a service that compose reads as a mapping whichever form they are written in.
_KEYED = {
    ("environment",): "=",
    ("labels",): "=",
    ("annotations",): "=",
    ("sysctls",): "=",
    ("extra_hosts",): "=:",
    ("build", "args"): "=",
    ("build", "labels"): "=",
    ("depends_on",): "",
    ("networks",): "",
    ("links",): "",
}


def merge_roots(base: MappingNode, override: MappingNode) -> MappingNode:
    """The project of `base` with `override` merged over it (both resolved roots)."""
    merged = _merge_mapping(base, override, ())
    assert isinstance(merged, MappingNode)
    return merged


def merge_service(base: Node, override: Node) -> Node:
    """One service over another (extends: the local definition wins)."""
    return _merge(base, override, ("services", "*"))


def strip_tags(node: Node) -> Node:
    """`node` without `!reset` / `!override` tags (what is left when nothing was below it)."""
    if isinstance(node, MappingNode):
        pairs = [(k, strip_tags(v)) for k, v in node.value if v.tag != RESET]
        return MappingNode(_plain_tag(node), pairs, node.start_mark, node.end_mark)
    if isinstance(node, SequenceNode):
        items = [strip_tags(item) for item in node.value]
        return SequenceNode(_plain_tag(node), items, node.start_mark, node.end_mark)
    if node.tag in (RESET, OVERRIDE):
        return ScalarNode(
            NULL_TAG if node.tag == RESET else "tag:yaml.org,2002:str",
            node.value,
            node.start_mark,
            node.end_mark,
        )
    return node


def _plain_tag(node: Node) -> str:
    if node.tag not in (RESET, OVERRIDE):
        return str(node.tag)
    return MAP_TAG if isinstance(node, MappingNode) else SEQ_TAG


def _merge(base: Node, override: Node, path: tuple[str, ...]) -> Node:
    if override.tag == OVERRIDE:
        return strip_tags(override)
    field = _service_field(path)
    if field in _REPLACED:
        return strip_tags(override)
    if field in _KEYED:  # two lists too: `A=1` then `A=2` is one key
        base, override = _keyed(base, _KEYED[field]), _keyed(override, _KEYED[field])
    if field in _STRING_OR_LIST and type(base) is not type(override):
        base, override = _as_list(base), _as_list(override)
    if field == ("build",) and type(base) is not type(override):
        base, override = _as_build(base), _as_build(override)
    if isinstance(base, MappingNode) and isinstance(override, MappingNode):
        return _merge_mapping(base, override, path)
    if isinstance(base, SequenceNode) and isinstance(override, SequenceNode):
        unique = _UNIQUE.get(field) if field is not None and len(field) == 1 else None
        return _merge_sequence(base, override, unique)
    return strip_tags(override)


def _service_field(path: tuple[str, ...]) -> tuple[str, ...] | None:
    """The field path inside a service (`("healthcheck", "test")`), None outside services."""
    if len(path) >= 3 and path[0] == "services":
        return path[2:]
    return None


def _merge_mapping(base: Node, override: Node, path: tuple[str, ...]) -> Node:
    assert isinstance(base, MappingNode) and isinstance(override, MappingNode)
    result: dict[str, tuple[ScalarNode, Node]] = {str(k.value): (k, v) for k, v in base.value}
    for key, value in override.value:
        name = str(key.value)
        if value.tag == RESET:
            result.pop(name, None)
        elif name in result:
            inner = (*path, "*") if path == ("services",) else (*path, name)
            result[name] = (result[name][0], _merge(result[name][1], value, inner))
        else:
            result[name] = (key, strip_tags(value))
    return MappingNode(_plain_tag(base), list(result.values()), base.start_mark, base.end_mark)


def _merge_sequence(
    base: SequenceNode, override: SequenceNode, unique: Callable[[Node], object] | None
) -> Node:
    items = list(base.value)
    for item in override.value:
        item = strip_tags(item)
        key = unique(item) if unique is not None else None
        same = (i for i, old in enumerate(items) if unique is not None and unique(old) == key)
        at = next(same, None) if key is not None else None
        if at is None:
            items.append(item)
        else:
            items[at] = item
    return SequenceNode(_plain_tag(base), items, base.start_mark, base.end_mark)


_STRING_OR_LIST = {("env_file",), ("dns",), ("dns_search",), ("tmpfs",)}


def _as_list(node: Node) -> Node:
    """`env_file: a.env` as compose reads it: `[a.env]`."""
    if not isinstance(node, ScalarNode):
        return node
    return SequenceNode(SEQ_TAG, [node], node.start_mark, node.end_mark)


def _as_build(node: Node) -> Node:
    """`build: ./dir` as compose reads it: `{context: ./dir}`."""
    if not isinstance(node, ScalarNode):
        return node
    return MappingNode(
        MAP_TAG, [(new_scalar("context", node), node)], node.start_mark, node.end_mark
    )


def _keyed(node: Node, separators: str) -> Node:
    """A `KEY=VALUE` (or bare `KEY`) list as the mapping compose reads it."""
    if not isinstance(node, SequenceNode):
        return node
    pairs: list[tuple[ScalarNode, Node]] = []
    for item in node.value:
        text = str(item.value) if isinstance(item, ScalarNode) else ""
        cut = min((text.find(s) for s in separators if s in text), default=-1)
        key, value = (text[:cut], text[cut + 1 :]) if cut >= 0 else (text, None)
        value_node = (
            new_scalar(value, item)
            if value is not None
            else ScalarNode(NULL_TAG, "", item.start_mark, item.end_mark)
        )
        pairs.append((new_scalar(key, item), value_node))
    return MappingNode(MAP_TAG, pairs, node.start_mark, node.end_mark)


def _scalar_field(item: Node, name: str) -> str:
    if isinstance(item, MappingNode):
        for key, value in item.value:
            if key.value == name and isinstance(value, ScalarNode):
                return str(value.value)
    return ""


def volume_target(item: Node) -> str:
    if isinstance(item, ScalarNode):
        parts = str(item.value).split(":")
        return parts[1] if len(parts) > 1 else parts[0]
    return _scalar_field(item, "target")


def _file_target(item: Node) -> str:
    if isinstance(item, ScalarNode):
        return str(item.value)
    return _scalar_field(item, "target") or _scalar_field(item, "source")


def port_key(item: Node) -> tuple[str, str, str, str]:
    """(host ip, container port, published port, protocol)."""
    if isinstance(item, ScalarNode):
        spec, _, protocol = str(item.value).partition("/")
        parts = spec.rsplit(":", 2)
        target = parts[-1]
        published = parts[-2] if len(parts) >= 2 else ""
        host_ip = parts[0] if len(parts) == 3 else ""
        return host_ip.strip("[]"), target, published, protocol or "tcp"
    return (
        _scalar_field(item, "host_ip"),
        _scalar_field(item, "target"),
        _scalar_field(item, "published"),
        _scalar_field(item, "protocol") or "tcp",
    )


def _itself(item: Node) -> object:
    return str(item.value) if isinstance(item, ScalarNode) else None


_UNIQUE: dict[tuple[str, ...], Callable[[Node], object]] = {
    ("volumes",): volume_target,
    ("devices",): volume_target,
    ("secrets",): _file_target,
    ("configs",): _file_target,
    ("ports",): port_key,
    # Lists of values where a repeated value means nothing (docker-compose v1 and v2 agree).
    **{
        (name,): _itself
        for name in (
            "cap_add", "cap_drop", "dns", "dns_search", "env_file", "expose",
            "external_links", "profiles", "security_opt", "tmpfs", "volumes_from",
        )
    },
}  # fmt: skip
