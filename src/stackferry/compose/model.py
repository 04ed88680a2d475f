"""What the agent reads of a compose file to inspect and deploy a stack: the project name,
each service's image, the host directories it mounts and the ports it publishes.

Read through the same parser, interpolation and host-path fields as the translation
(fields.py), so the directories the agent reports are the ones a migration moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stackferry.compose.document import (
    Node,
    ScalarNode,
    SequenceNode,
    is_null,
    line_of,
    mapping_items,
    parse,
    scalar_text,
    scalar_values,
)
from stackferry.compose.errors import ComposeError
from stackferry.compose.fields import FieldKind, PathField, path_fields
from stackferry.compose.mounts import ServiceMount, VolumeSpec, service_mounts, top_volumes
from stackferry.compose.paths import absolute, absolute_dir
from stackferry.compose.project import project_name
from stackferry.compose.variables import (
    env_values,
    interpolate,
    parse_env,
)


@dataclass(frozen=True)
class BindMount:
    service: str
    source: str  # absolute, normalised host path
    target: str  # path in the container


@dataclass(frozen=True)
class PortBinding:
    host_ip: str  # "" for every address
    port: int
    protocol: str  # tcp / udp

    def __str__(self) -> str:
        return f"{self.port}/{self.protocol}"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    image: str  # "" for a build-only service
    binds: tuple[BindMount, ...]
    ports: tuple[PortBinding, ...]
    mounts: tuple[ServiceMount, ...] = ()  # every mount: binds, volumes, tmpfs


@dataclass(frozen=True)
class ComposeFile:
    project_name: str
    project_dir: str
    services: tuple[ServiceSpec, ...]
    volumes: tuple[VolumeSpec, ...] = ()  # the top-level volumes

    def volume(self, key: str) -> VolumeSpec | None:
        return next((v for v in self.volumes if v.key == key), None)

    @property
    def mounts(self) -> list[ServiceMount]:
        return [m for s in self.services for m in s.mounts]

    @property
    def images(self) -> list[str]:
        return sorted({s.image for s in self.services if s.image})

    @property
    def binds(self) -> list[BindMount]:
        return [b for s in self.services for b in s.binds]

    @property
    def ports(self) -> list[PortBinding]:
        return [p for s in self.services for p in s.ports]


@dataclass(frozen=True)
class _Reader:
    """Values as Compose reads them: variables from `.env` (HOME from the caller), `~` is
    HOME, relative paths are against the project directory."""

    dotenv: Mapping[str, str]
    environ: Mapping[str, str]
    project_dir: str

    def value(self, node: Node, what: str) -> str:
        return interpolate(scalar_text(node, what), self.dotenv, self.environ, line_of(node))

    def text(self, text: str, line: int) -> str:
        return interpolate(text, self.dotenv, self.environ, line)

    def host(self, path: str) -> str:
        return absolute(path, self.project_dir, self.environ["HOME"])


def load_compose(
    text: str, env_text: str, project_dir: str, explicit_name: str = "", home: str = "/root"
) -> ComposeFile:
    """`explicit_name` is `-p`; `home` is the HOME of whoever runs compose on the file."""
    doc = parse(text)
    environ = {"HOME": absolute_dir(home, "home")}
    reader = _Reader(
        env_values(parse_env(env_text), environ),
        environ,
        absolute_dir(project_dir, "project directory"),
    )
    for location, node in scalar_values(doc.root):
        reader.value(node, location)  # Compose refuses a bad `${...}` in any field
    binds = _binds(reader, list(path_fields(doc)))
    top = mapping_items(doc.root, "the compose file")
    services = tuple(
        ServiceSpec(
            name,
            _image(reader, name, node),
            tuple(binds.get(name, ())),
            _ports(reader, name, node),
            service_mounts(reader, name, node),
        )
        for name, (_, node) in mapping_items(top["services"][1], "services").items()
    )
    name = project_name(top, reader.dotenv, environ, reader.project_dir, explicit_name)
    volumes = top_volumes(reader, top["volumes"][1] if "volumes" in top else None, name)
    return ComposeFile(name, reader.project_dir, services, volumes)


def _binds(reader: _Reader, fields: list[PathField]) -> dict[str, list[BindMount]]:
    """Host directories by service, including named volumes bound to one by `driver_opts`."""
    devices = {
        f.volume: reader.host(reader.value(f.node, f.location))
        for f in fields
        if f.kind is FieldKind.VOLUME_DEVICE
    }
    found: dict[str, list[BindMount]] = {}
    for f in fields:
        if f.service is None:
            continue
        if f.kind is FieldKind.SHORT_VOLUME:
            # Compose interpolates first, then splits: a variable may hold the `:`.
            source, colon, rest = reader.value(f.node, f.location).partition(":")
            if not colon:
                continue  # an anonymous volume
            target = rest.partition(":")[0]
            is_path = source.startswith((".", "/", "~"))
        elif f.kind in (FieldKind.BIND_SOURCE, FieldKind.VOLUME_SOURCE):
            source = reader.value(f.node, f.location)
            target = reader.text(f.container_path or "", line_of(f.node))
            is_path = f.kind is FieldKind.BIND_SOURCE
        else:
            continue
        if source and is_path:
            found.setdefault(f.service, []).append(
                BindMount(f.service, reader.host(source), target)
            )
        elif source in devices:
            found.setdefault(f.service, []).append(BindMount(f.service, devices[source], target))
    return found


def _image(reader: _Reader, service: str, spec: Node) -> str:
    image = mapping_items(spec, f"services.{service}").get("image")
    if image is None or is_null(image[1]):
        return ""
    return reader.value(image[1], f"services.{service}.image")


def _ports(reader: _Reader, service: str, spec: Node) -> tuple[PortBinding, ...]:
    where = f"services.{service}.ports"
    ports = mapping_items(spec, f"services.{service}").get("ports")
    if ports is None or is_null(ports[1]):
        return ()
    if not isinstance(ports[1], SequenceNode):
        raise ComposeError(f"{where} must be a list", line_of(ports[1]))
    return tuple(
        binding
        for index, entry in enumerate(ports[1].value)
        for binding in _port(reader, f"{where}[{index}]", entry)
    )


def _port(reader: _Reader, location: str, entry: Node) -> list[PortBinding]:
    if isinstance(entry, ScalarNode):
        spec, _, protocol = reader.value(entry, location).partition("/")
        parts = spec.rsplit(":", 2)
        published = parts[-2] if len(parts) >= 2 else ""
        host_ip = parts[0].strip("[]") if len(parts) == 3 else ""
    else:
        fields = {
            key: reader.value(node, f"{location}.{key}")
            for key, (_, node) in mapping_items(entry, location).items()
            if key in ("published", "host_ip", "protocol") and not is_null(node)
        }
        published, host_ip = fields.get("published", ""), fields.get("host_ip", "")
        protocol = fields.get("protocol", "")
    if not published:
        return []  # only a container port: the engine picks a free host port
    low, _, high = published.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        raise ComposeError(f"{location}: bad published port {published!r}", line_of(entry))
    return [
        PortBinding(host_ip, port, protocol or "tcp")
        for port in range(int(low), int(high or low) + 1)
    ]
