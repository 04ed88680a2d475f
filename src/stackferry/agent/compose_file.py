"""Reading a compose file the way Compose does, just enough to inspect and deploy a stack:
.env parsing, ${VAR} interpolation, the project name, images, bind-mount sources and
published ports. Pure: no docker, no grpc. (The round-trip rewrite of a compose file for
another host is controller/domain/compose.py.)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import yaml

from stackferry.agent.errors import InvalidArgument

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_INT_FLOAT_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


class _ComposeLoader(yaml.SafeLoader):
    """SafeLoader that keeps numbers as strings: YAML 1.1 would read `22:22` as 1342."""


_ComposeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _INT_FLOAT_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_env(text: str) -> dict[str, str]:
    """KEY=VALUE lines of a .env file; comments, blank lines, `export ` and quotes handled."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        env[key.strip()] = value
    return env


def interpolate(value: str, env: dict[str, str]) -> str:
    """${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $VAR and $$, as Compose does."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        current = env.get(name)
        if op == ":-":
            return current if current else arg
        if op == "-":
            return arg if current is None else current
        if op in (":?", "?") and (current is None or (op == ":?" and not current)):
            raise InvalidArgument(f"required variable {name} is not set: {arg}")
        return current or ""

    return _VARIABLE.sub(substitute, value)


def _interpolate_tree(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, env) for key, value in node.items()}
    return node


def normalise_project_name(name: str) -> str:
    """Lower case, only [a-z0-9_-], starting with a letter or digit (as Compose does)."""
    return re.sub(r"[^a-z0-9_-]", "", name.lower()).lstrip("_-")


def validate_project_name(name: str) -> str:
    if not _PROJECT_NAME.match(name) or len(name) > 128:
        raise InvalidArgument(
            f"invalid project name {name!r}: lower-case letters, digits, '_' and '-' only"
        )
    return name


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


@dataclass(frozen=True)
class ComposeFile:
    project_name: str
    project_dir: str
    services: tuple[ServiceSpec, ...]
    declared_name: str  # the file's own `name:`, "" when absent

    @property
    def images(self) -> list[str]:
        return sorted({s.image for s in self.services if s.image})

    @property
    def binds(self) -> list[BindMount]:
        return [b for s in self.services for b in s.binds]

    @property
    def ports(self) -> list[PortBinding]:
        return [p for s in self.services for p in s.ports]


def load_document(text: str, what: str = "compose file") -> dict[str, Any]:
    try:
        document = yaml.load(text, Loader=_ComposeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidArgument(f"{what} is not valid YAML{where}: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"{what} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        raise InvalidArgument(f"{what} has no `services:` mapping")
    return document


def load_compose(
    text: str, env_text: str, project_dir: str, explicit_name: str = ""
) -> ComposeFile:
    """Parses and interpolates; the project name is explicit > `name:` > COMPOSE_PROJECT_NAME
    in .env > the directory name."""
    env = parse_env(env_text)
    document = _interpolate_tree(load_document(text), env)
    declared = str(document.get("name") or "")
    chosen = (
        explicit_name
        or declared
        or env.get("COMPOSE_PROJECT_NAME", "")
        or os.path.basename(project_dir.rstrip("/"))
    )
    project = validate_project_name(normalise_project_name(chosen))
    volumes = document.get("volumes") or {}
    services = tuple(
        _service(name, spec or {}, project_dir, volumes)
        for name, spec in document["services"].items()
    )
    return ComposeFile(project, project_dir, services, declared)


def _service(name: str, spec: dict[str, Any], project_dir: str, volumes: Any) -> ServiceSpec:
    if not isinstance(spec, dict):
        raise InvalidArgument(f"service {name!r} is not a mapping")
    binds = []
    for entry in spec.get("volumes") or []:
        found = _bind(name, entry, project_dir, volumes if isinstance(volumes, dict) else {})
        if found:
            binds.append(found)
    ports = [p for entry in spec.get("ports") or [] for p in _ports(name, entry)]
    return ServiceSpec(name, str(spec.get("image") or ""), tuple(binds), tuple(ports))


def _host_path(path: str, project_dir: str) -> str:
    return os.path.normpath(os.path.join(project_dir, os.path.expanduser(path)))


def _volume_device(volume: Any) -> str | None:
    """The host path of a top-level volume with driver_opts {type: none, o: bind, device}."""
    opts = (volume.get("driver_opts") or {}) if isinstance(volume, dict) else {}
    if "bind" in str(opts.get("o", "")).split(",") and opts.get("device"):
        return str(opts["device"])
    return None


def _bind(service: str, entry: Any, project_dir: str, volumes: dict[str, Any]) -> BindMount | None:
    if isinstance(entry, str):
        source, _, rest = entry.partition(":")
        target = rest.partition(":")[0]
        if not rest:
            return None  # an anonymous volume
        kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
    elif isinstance(entry, dict):
        kind = str(entry.get("type", ""))
        source, target = str(entry.get("source", "")), str(entry.get("target", ""))
    else:
        raise InvalidArgument(f"service {service!r}: unreadable volume entry {entry!r}")
    if kind == "volume":
        device = _volume_device(volumes.get(source))
        if device is None:
            return None  # a named volume: managed by the engine, not a host path
        source = device
    elif kind != "bind" or not source:
        return None
    return BindMount(service, _host_path(source, project_dir), target)


def _port_range(text: str, service: str) -> range:
    low, _, high = text.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        raise InvalidArgument(f"service {service!r}: bad published port {text!r}")
    return range(int(low), int(high or low) + 1)


def _ports(service: str, entry: Any) -> list[PortBinding]:
    if isinstance(entry, dict):
        published = str(entry.get("published") or "")
        host_ip, protocol = str(entry.get("host_ip") or ""), str(entry.get("protocol") or "tcp")
    else:
        spec, _, protocol = str(entry).partition("/")
        parts = spec.rsplit(":", 2)
        published = parts[-2] if len(parts) >= 2 else ""
        host_ip = parts[0].strip("[]") if len(parts) == 3 else ""
        protocol = protocol or "tcp"
    if not published:
        return []  # only a container port: the engine picks a free host port
    return [PortBinding(host_ip, port, protocol) for port in _port_range(published, service)]
