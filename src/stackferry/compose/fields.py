"""Every field of a compose file that may hold a host path, with where it is.

Only what compose itself reads as a host path is listed: service volumes (short and
long syntax), top-level volumes that bind a host directory (`driver_opts` with
`o: bind` and `device:`), `env_file`, `label_file`, `build` / `build.context`,
`extends.file`, the `file:` of top-level secrets and configs and the paths of `include:`.
`x-*` extension blocks are read only through the anchors and merge keys that bring them
into those fields.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from stackferry.compose.document import (
    Document,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    is_null,
    line_of,
    mapping_items,
    scalar_text,
)
from stackferry.compose.errors import ComposeError


class FieldKind(enum.StrEnum):
    SHORT_VOLUME = "short volume"  # "src:dst[:mode]"; only the src part is a path
    BIND_SOURCE = "bind source"  # long syntax `type: bind`
    VOLUME_SOURCE = "volume source"  # long syntax `type: volume`: a volume name
    VOLUME_DEVICE = "volume device"  # top-level volume bound to a host directory
    ENV_FILE = "env_file"
    BUILD_CONTEXT = "build context"
    EXTENDS_FILE = "extends file"
    SECRET_FILE = "secret file"
    CONFIG_FILE = "config file"
    INCLUDE = "include"  # an `include:` path, project_directory or env_file
    LABEL_FILE = "label_file"  # Compose 2.32+: a file of labels


@dataclass(frozen=True)
class PathField:
    """One scalar that holds (or, for short volumes, starts with) a host path."""

    location: str
    service: str | None
    node: ScalarNode
    kind: FieldKind
    in_flow: bool
    container_path: str | None = None
    volume: str | None = None  # the top-level volume a VOLUME_DEVICE belongs to


def path_fields(doc: Document) -> Iterator[PathField]:
    top = mapping_items(doc.root, "the compose file")
    # An override or an include-only file may have no services: nothing of them to read here.
    if "services" in top and not is_null(top["services"][1]):
        for name, (_, service) in mapping_items(top["services"][1], "services").items():
            yield from _service_fields(name, service)
    if "volumes" in top and not is_null(top["volumes"][1]):
        yield from _volume_devices(top["volumes"][1])
    if "include" in top and isinstance(top["include"][1], SequenceNode):
        yield from _include_fields(top["include"][1])
    for section, kind in (("secrets", FieldKind.SECRET_FILE), ("configs", FieldKind.CONFIG_FILE)):
        if section in top and not is_null(top[section][1]):
            for name, (_, spec) in mapping_items(top[section][1], section).items():
                file_node = mapping_items(spec, f"{section}.{name}").get("file")
                if file_node is not None:
                    yield _field(f"{section}.{name}.file", None, file_node[1], kind, spec)


def _field(
    location: str,
    service: str | None,
    node: Node,
    kind: FieldKind,
    parent: Node,
    container_path: str | None = None,
    volume: str | None = None,
) -> PathField:
    scalar_text(node, location)
    assert isinstance(node, ScalarNode)
    in_flow = bool(getattr(parent, "flow_style", False))
    return PathField(location, service, node, kind, in_flow, container_path, volume)


def _service_fields(name: str, service: Node) -> Iterator[PathField]:
    here = f"services.{name}"
    # An empty `volumes:` or `env_file:` is null: nothing to read, as in compose.
    fields = {k: v for k, v in mapping_items(service, here).items() if not is_null(v[1])}
    if "volumes" in fields:
        yield from _service_volumes(name, fields["volumes"][1])
    if "env_file" in fields:
        yield from _env_files(name, fields["env_file"][1], service)
    if "label_file" in fields:
        node = fields["label_file"][1]
        where = f"{here}.label_file"
        if isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                yield _field(f"{where}[{index}]", name, item, FieldKind.LABEL_FILE, node)
        else:
            yield _field(where, name, node, FieldKind.LABEL_FILE, service)
    if "build" in fields:
        build = fields["build"][1]
        if isinstance(build, ScalarNode):
            yield _field(f"{here}.build", name, build, FieldKind.BUILD_CONTEXT, service)
        else:
            context = mapping_items(build, f"{here}.build").get("context")
            if context is not None:
                location = f"{here}.build.context"
                yield _field(location, name, context[1], FieldKind.BUILD_CONTEXT, build)
    if "extends" in fields and not isinstance(fields["extends"][1], ScalarNode):
        extends = fields["extends"][1]
        file_node = mapping_items(extends, f"{here}.extends").get("file")
        if file_node is not None:
            location = f"{here}.extends.file"
            yield _field(location, name, file_node[1], FieldKind.EXTENDS_FILE, extends)


def _service_volumes(service: str, volumes: Node) -> Iterator[PathField]:
    where = f"services.{service}.volumes"
    if not isinstance(volumes, SequenceNode):
        raise ComposeError(f"{where} must be a list", line_of(volumes))
    for index, entry in enumerate(volumes.value):
        location = f"{where}[{index}]"
        if isinstance(entry, ScalarNode):
            yield _field(location, service, entry, FieldKind.SHORT_VOLUME, volumes)
            continue
        spec = mapping_items(entry, location)
        kind = scalar_text(spec["type"][1], f"{location}.type") if "type" in spec else ""
        target = spec.get("target")
        container = scalar_text(target[1], f"{location}.target") if target else None
        if "source" not in spec:
            if kind == "bind":
                raise ComposeError(f"{location} is a bind mount without source:", line_of(entry))
            continue
        field_kind = {"bind": FieldKind.BIND_SOURCE, "volume": FieldKind.VOLUME_SOURCE}.get(kind)
        if field_kind is not None:
            source = spec["source"][1]
            yield _field(f"{location}.source", service, source, field_kind, entry, container)


def _env_files(service: str, env_file: Node, parent: Node) -> Iterator[PathField]:
    where = f"services.{service}.env_file"
    if isinstance(env_file, ScalarNode):
        yield _field(where, service, env_file, FieldKind.ENV_FILE, parent)
        return
    if not isinstance(env_file, SequenceNode):
        raise ComposeError(f"{where} must be a string or a list", line_of(env_file))
    for index, entry in enumerate(env_file.value):
        location = f"{where}[{index}]"
        if isinstance(entry, MappingNode):
            path = mapping_items(entry, location).get("path")
            if path is None:
                raise ComposeError(f"{location} has no path:", line_of(entry))
            yield _field(f"{location}.path", service, path[1], FieldKind.ENV_FILE, entry)
        else:
            yield _field(location, service, entry, FieldKind.ENV_FILE, env_file)


def _include_fields(entries: SequenceNode) -> Iterator[PathField]:
    for index, entry in enumerate(entries.value):
        where = f"include[{index}]"
        if isinstance(entry, ScalarNode):
            yield _field(where, None, entry, FieldKind.INCLUDE, entries)
            continue
        for key, (_, node) in mapping_items(entry, where).items():
            if key not in ("path", "project_directory", "env_file"):
                continue
            if isinstance(node, SequenceNode):
                for i, item in enumerate(node.value):
                    yield _field(f"{where}.{key}[{i}]", None, item, FieldKind.INCLUDE, node)
            else:
                yield _field(f"{where}.{key}", None, node, FieldKind.INCLUDE, entry)


def _volume_devices(volumes: Node) -> Iterator[PathField]:
    for name, (_, spec) in mapping_items(volumes, "volumes").items():
        if is_null(spec):
            continue
        options = mapping_items(spec, f"volumes.{name}")
        if "driver_opts" not in options or "external" in options:
            continue
        driver = options.get("driver")
        if driver is not None and scalar_text(driver[1], f"volumes.{name}.driver") != "local":
            continue
        opts_node = options["driver_opts"][1]
        opts = mapping_items(opts_node, f"volumes.{name}.driver_opts")
        mount_options = (
            scalar_text(opts["o"][1], f"volumes.{name}.driver_opts.o") if "o" in opts else ""
        )
        if "device" in opts and {"bind", "rbind"} & set(mount_options.split(",")):
            location = f"volumes.{name}.driver_opts.device"
            device = opts["device"][1]
            yield _field(location, None, device, FieldKind.VOLUME_DEVICE, opts_node, volume=name)
