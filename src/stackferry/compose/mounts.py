"""Every mount of every service, as Compose makes it: bind mounts, named and anonymous volumes,
tmpfs; and the top-level volumes with the name the engine gives them.

The mount inventory of a migration starts here (the agent adds what the running containers
show and what the host says about each source). Pure: values come through the caller's reader.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from stackferry.compose.document import (
    Node,
    ScalarNode,
    SequenceNode,
    is_null,
    line_of,
    mapping_items,
)
from stackferry.compose.errors import ComposeError


class Reader(Protocol):
    def value(self, node: Node, what: str) -> str: ...

    def host(self, path: str) -> str: ...


@dataclass(frozen=True)
class ServiceMount:
    """One mount of a service. `source`: a bind's absolute host path, a named volume's
    top-level key, "" for an anonymous volume or a tmpfs."""

    service: str
    type: str  # "bind", "volume", "tmpfs"; any other (npipe, cluster) is kept for the planner
    source: str
    target: str
    read_only: bool = False
    location: str = ""  # services.web.volumes[2]


@dataclass(frozen=True)
class VolumeSpec:
    """A top-level volume. `name` is the engine's: `name:`, else `<project>_<key>`; an
    external volume's is `name:` (or the old `external: {name: ...}`), else its key."""

    key: str
    name: str
    driver: str = "local"
    driver_opts: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    external: bool = False
    device: str = ""  # a local volume bound to this host directory (driver_opts o=bind), absolute


def service_mounts(reader: Reader, service: str, spec: Node) -> tuple[ServiceMount, ...]:
    here = f"services.{service}"
    fields = {k: v for k, v in mapping_items(spec, here).items() if not is_null(v[1])}
    found: list[ServiceMount] = []
    if "volumes" in fields:
        volumes = fields["volumes"][1]
        if not isinstance(volumes, SequenceNode):
            raise ComposeError(f"{here}.volumes must be a list", line_of(volumes))
        for index, entry in enumerate(volumes.value):
            found.append(_volume_entry(reader, service, f"{here}.volumes[{index}]", entry))
    if "tmpfs" in fields:
        node = fields["tmpfs"][1]
        entries = node.value if isinstance(node, SequenceNode) else [node]
        for index, entry in enumerate(entries):
            target = reader.value(entry, f"{here}.tmpfs[{index}]").partition(":")[0]
            found.append(ServiceMount(service, "tmpfs", "", target, False, f"{here}.tmpfs"))
    return tuple(found)


def _volume_entry(reader: Reader, service: str, location: str, entry: Node) -> ServiceMount:
    if isinstance(entry, ScalarNode):
        # Compose interpolates first, then splits: a variable may hold the `:`.
        parts = reader.value(entry, location).split(":")
        if len(parts) == 1:
            return ServiceMount(service, "volume", "", parts[0], False, location)
        source, target = parts[0], parts[1]
        read_only = len(parts) > 2 and "ro" in parts[2].split(",")
        if source.startswith((".", "/", "~")):
            return ServiceMount(service, "bind", reader.host(source), target, read_only, location)
        return ServiceMount(service, "volume", source, target, read_only, location)
    values = {
        key: reader.value(node, f"{location}.{key}")
        for key, (_, node) in mapping_items(entry, location).items()
        if isinstance(node, ScalarNode) and not is_null(node)
    }
    kind = values.get("type", "volume")
    source, target = values.get("source", ""), values.get("target", "")
    read_only = values.get("read_only", "").lower() in ("true", "yes", "1")
    if kind == "bind":
        if not source:
            raise ComposeError(f"{location} is a bind mount without source:", line_of(entry))
        source = reader.host(source)
    elif kind == "tmpfs":
        source = ""
    return ServiceMount(service, kind, source, target, read_only, location)


def top_volumes(reader: Reader, top_node: Node | None, project: str) -> tuple[VolumeSpec, ...]:
    if top_node is None or is_null(top_node):
        return ()
    return tuple(
        _volume_spec(reader, key, spec, project)
        for key, (_, spec) in mapping_items(top_node, "volumes").items()
    )


def _volume_spec(reader: Reader, key: str, spec: Node, project: str) -> VolumeSpec:
    where = f"volumes.{key}"
    if is_null(spec):
        return VolumeSpec(key, f"{project}_{key}")
    items = mapping_items(spec, where)
    scalars = {
        k: reader.value(node, f"{where}.{k}")
        for k, (_, node) in items.items()
        if isinstance(node, ScalarNode) and not is_null(node)
    }
    external, old_name = _external(reader, items, where)
    name = scalars.get("name", "") or old_name
    driver = scalars.get("driver", "") or "local"
    opts = dict(_pairs(reader, items, "driver_opts", where))
    bound = {"bind", "rbind"} & set(opts.get("o", "").split(","))
    device = reader.host(opts["device"]) if driver == "local" and bound and "device" in opts else ""
    return VolumeSpec(
        key,
        name or (key if external else f"{project}_{key}"),
        driver,
        tuple(sorted(opts.items())),
        tuple(sorted(_pairs(reader, items, "labels", where))),
        external,
        device,
    )


def _external(
    reader: Reader, items: dict[str, tuple[ScalarNode, Node]], where: str
) -> tuple[bool, str]:
    """(external?, the name an old-style `external: {name: x}` gives)."""
    if "external" not in items:
        return False, ""
    node = items["external"][1]
    if isinstance(node, ScalarNode):
        return reader.value(node, f"{where}.external").lower() in ("true", "yes", "1"), ""
    named = mapping_items(node, f"{where}.external").get("name")
    return True, reader.value(named[1], f"{where}.external.name") if named else ""


def _pairs(
    reader: Reader, items: dict[str, tuple[ScalarNode, Node]], key: str, where: str
) -> Iterator[tuple[str, str]]:
    """A mapping or a list of `k=v` (labels), each value interpolated."""
    if key not in items or is_null(items[key][1]):
        return
    node = items[key][1]
    if isinstance(node, SequenceNode):
        for index, entry in enumerate(node.value):
            label, _, text = reader.value(entry, f"{where}.{key}[{index}]").partition("=")
            yield label, text
        return
    for label, (_, value) in mapping_items(node, f"{where}.{key}").items():
        yield label, "" if is_null(value) else reader.value(value, f"{where}.{key}.{label}")
