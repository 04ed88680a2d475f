"""What compose reads of each service to choose and order them: `profiles`, `depends_on`
and `stop_grace_period`.

A service without `profiles` is always active; one with profiles is active when one of
them is enabled (`COMPOSE_PROFILES=a,b`, or `*` for every profile). Compose stops services
in reverse dependency order (dependents first) and starts them in dependency order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from stackferry.compose.document import (
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    is_null,
    line_of,
    mapping_items,
)
from stackferry.compose.errors import ComposeError

DEFAULT_STOP_GRACE_SECONDS = 10.0
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|us|µs|ns|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    profiles: tuple[str, ...]
    active: bool
    stop_grace_seconds: float
    depends_on: tuple[str, ...]


def parse_duration(text: str, where: str, line: int | None = None) -> float:
    """A compose duration (`1m30s`, `2s`, `500ms`, `1.5h`) in seconds; a bare number is seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = list(_DURATION_PART.finditer(text))
    if not parts or "".join(p[0] for p in parts) != text:
        raise ComposeError(f"{where}: {text!r} is not a duration (e.g. 10s, 1m30s)", line)
    return sum(float(p[1]) * _UNIT_SECONDS[p[2]] for p in parts)


def active_profiles(spec: str) -> frozenset[str]:
    """`COMPOSE_PROFILES` as a set: comma separated, blanks ignored."""
    return frozenset(p.strip() for p in spec.split(",") if p.strip())


def check_durations(services: Node) -> None:
    """Refuse a bad `stop_grace_period` while its file is known (the loader adds the name)."""
    for name, (_, spec) in mapping_items(services, "services").items():
        node = mapping_items(spec, f"services.{name}").get("stop_grace_period")
        if node is not None and not is_null(node[1]):
            where = f"services.{name}.stop_grace_period"
            parse_duration(str(node[1].value), where, line_of(node[1]))


def service_infos(services: Node, enabled: Iterable[str]) -> dict[str, ServiceInfo]:
    enabled = frozenset(enabled)
    found: dict[str, ServiceInfo] = {}
    for name, (_, spec) in mapping_items(services, "services").items():
        here = f"services.{name}"
        fields = {k: v for k, v in mapping_items(spec, here).items() if not is_null(v[1])}
        profiles = (
            _strings(fields["profiles"][1], f"{here}.profiles") if "profiles" in fields else ()
        )
        active = not profiles or "*" in enabled or bool(enabled & set(profiles))
        grace = DEFAULT_STOP_GRACE_SECONDS
        if "stop_grace_period" in fields:
            node = fields["stop_grace_period"][1]
            grace = parse_duration(str(node.value), f"{here}.stop_grace_period", line_of(node))
        depends = _depends_on(fields["depends_on"][1], here) if "depends_on" in fields else ()
        found[name] = ServiceInfo(name, profiles, active, grace, depends)
    for info in found.values():
        for other in info.depends_on:
            if other not in found:
                raise ComposeError(f"services.{info.name}.depends_on: no service {other!r}")
    return found


def _strings(node: Node, where: str) -> tuple[str, ...]:
    if isinstance(node, ScalarNode):
        return (str(node.value),)
    if not isinstance(node, SequenceNode):
        raise ComposeError(f"{where} must be a list", line_of(node))
    return tuple(str(item.value) for item in node.value if isinstance(item, ScalarNode))


def _depends_on(node: Node, here: str) -> tuple[str, ...]:
    if isinstance(node, MappingNode):
        return tuple(mapping_items(node, f"{here}.depends_on"))
    return _strings(node, f"{here}.depends_on")


def start_order(infos: Mapping[str, ServiceInfo], names: Iterable[str]) -> list[str]:
    """`names` with every dependency before its dependents (ties in name order)."""
    wanted = set(names)
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise ComposeError(f"depends_on has a cycle: {cycle}")
        visiting.append(name)
        for dep in sorted(infos[name].depends_on):
            if dep in wanted:
                visit(dep)
        visiting.pop()
        order.append(name)

    for name in sorted(wanted):
        visit(name)
    return order


def start_waves(infos: Mapping[str, ServiceInfo], names: Iterable[str]) -> list[list[str]]:
    """`names` in waves, as compose starts them: a wave's services depend only on services of
    earlier waves (among `names`), so the services of one wave may start at once."""
    order = start_order(infos, names)
    wanted = set(order)
    wave_of: dict[str, int] = {}
    for name in order:  # every dependency comes before its dependents
        deps = [wave_of[dep] for dep in infos[name].depends_on if dep in wanted]
        wave_of[name] = 1 + max(deps, default=-1)
    waves: list[list[str]] = [[] for _ in range(1 + max(wave_of.values(), default=-1))]
    for name in order:
        waves[wave_of[name]].append(name)
    return waves


def stop_order(infos: Mapping[str, ServiceInfo], names: Iterable[str]) -> list[str]:
    """Dependents before what they depend on, as compose stops a project."""
    return list(reversed(start_order(infos, names)))


def profiles_of_running(infos: Mapping[str, ServiceInfo], running: Iterable[str]) -> frozenset[str]:
    """The profiles that make every service in `running` active (compose labels no profile:
    which services run is what a host shows). A profile may also enable services that did not
    run: start the running ones by name."""
    return frozenset(p for name in running if name in infos for p in infos[name].profiles[:1])
