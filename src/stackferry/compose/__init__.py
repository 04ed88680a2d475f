"""Compose translation: move a compose stack's host paths to where its data lands on the target.

Pure: no grpc, no docker, no filesystem. The planner calls it with texts the source
agent returned (InspectStack) and ships the result to the target agent (DeployStack).

API
---
``translate_compose(compose_text, env_text, project_dir, path_map, home="/root",
target_project_dir=None) -> Translation``
    ``path_map`` is ``[(source_prefix, target_prefix), ...]`` (absolute; matched longest
    prefix first, on whole path components: ``/data/app`` never matches ``/data/apple``).
    ``project_dir`` is the compose file's directory on the source; relative paths resolve
    against it. ``target_project_dir`` is where the file is written on the target
    (default: ``project_dir`` through the map). Returns ``Translation(compose_text,
    env_text, rewrites, target_project_dir)``; ``rewrites`` holds one ``Rewrite(location,
    before, after, reason, changed, kind)`` per host-path field (``services.web.volumes[0]``,
    ``services.web.volumes[1].source``, ``services.web.env_file[0]``,
    ``services.web.build.context``, ``volumes.data.driver_opts.device``, ...) and one per
    rewritten ``.env`` entry (``.env:DATA_DIR``). ``before``/``after`` are absolute host
    paths. ``kind``: TRANSLATED, UNMAPPED (outside every mapping, e.g.
    ``/var/run/docker.sock``: left alone), NOT_HOST_PATH (named/anonymous volume, remote
    build context) or UNTRANSLATABLE (must move but cannot be written: the planner must
    refuse; ``Translation.untranslatable`` lists them).

``bind_sources(compose_text, env_text, project_dir, home="/root") -> list[BindSource]``
    Every host directory the services mount: ``BindSource(location, service, host_path,
    container_path)``, including named volumes bound to a host directory through
    ``driver_opts``. Host paths are absolute, on the source. For mapping them to datasets.

``project_name_of(compose_text, project_dir, explicit=None, env_text="") -> str``
    ``-p`` (``explicit``), else ``COMPOSE_PROJECT_NAME`` from ``.env``, else ``name:``,
    else the directory name normalised like compose (lower case, only ``a-z0-9_-``, no
    leading ``_``/``-``). Explicit names must already be valid (compose refuses others).

``unified_diff(before, after, name) -> str``
    For the plan (``compose_diff``, ``env_diff``); empty when the texts are equal.

Errors: ``ComposeError`` (a ``ValueError``; ``.line`` is 1-based) for text that is not
YAML, not a mapping, services that are not a mapping, bad interpolation, a bad path map...

Rules
-----
- The text is never dumped again: only the scalars that change are spliced in, in the
  quoting style the user wrote. Comments, order, anchors and formatting survive; with
  nothing to change (an identity map) the output is byte-identical.
- A path written through a variable keeps the variable: its value is rewritten in
  ``.env`` when set there (the other lines of ``.env`` stay as written), else the default
  in ``${VAR:-default}`` / ``${VAR-default}`` is rewritten in place. Only the first part
  of a path is rewritten; when the mapping reaches past it (``${BASE}/app`` with
  ``BASE=/data`` and a map for ``/data/app``) the path is UNTRANSLATABLE, never guessed.
  Variables resolve from ``.env`` (``HOME`` from ``home``): run compose on the target
  without those variables in its environment, which would win over ``.env``.
- A relative path stays relative when it still lands inside the target project directory
  (then its text is usually unchanged, as the project moves with its data); otherwise it
  becomes absolute. ``~`` paths stay ``~`` while under ``home``.
- Paths compare lexically (``..`` is collapsed, symlinks are not followed).
"""

from __future__ import annotations

import difflib
import re
from typing import NamedTuple

from stackferry.compose.document import line_of, mapping_items, parse, scalar_text
from stackferry.compose.errors import ComposeError
from stackferry.compose.fields import FieldKind, path_fields
from stackferry.compose.paths import PathMap, absolute, normalize
from stackferry.compose.translate import Rewrite, RewriteKind, Translation, translate
from stackferry.compose.variables import (
    env_values,
    expand,
    first_separator,
    parse_env,
    rewrite_env,
    segments,
)

__all__ = [
    "BindSource",
    "ComposeError",
    "Rewrite",
    "RewriteKind",
    "Translation",
    "bind_sources",
    "project_name_of",
    "translate_compose",
    "unified_diff",
]


def translate_compose(
    compose_text: str,
    env_text: str,
    project_dir: str,
    path_map: list[tuple[str, str]],
    home: str = "/root",
    target_project_dir: str | None = None,
) -> Translation:
    pmap = PathMap.of(path_map)
    source_dir = _absolute_dir(project_dir, "project directory")
    target_dir = (
        _absolute_dir(target_project_dir, "target project directory")
        if target_project_dir is not None
        else pmap.translate(source_dir)
    )
    doc = parse(compose_text)
    entries = parse_env(env_text)
    home = _absolute_dir(home, "home")
    new_compose, env_changes, rewrites = translate(
        doc, entries, (source_dir, target_dir, home, pmap)
    )
    new_env = rewrite_env(env_text, entries, env_changes) if env_changes else env_text
    return Translation(new_compose, new_env, tuple(rewrites), target_dir)


class BindSource(NamedTuple):
    location: str
    service: str
    host_path: str
    container_path: str


def bind_sources(
    compose_text: str, env_text: str, project_dir: str, home: str = "/root"
) -> list[BindSource]:
    doc = parse(compose_text)
    environ = {"HOME": _absolute_dir(home, "home")}
    dotenv = env_values(parse_env(env_text), environ)
    base = _absolute_dir(project_dir, "project directory")
    fields = list(path_fields(doc))

    def host(value: str) -> str:
        return absolute(value, base, environ["HOME"])

    devices = {
        f.volume: host(expand(str(f.node.value), dotenv, environ))
        for f in fields
        if f.kind is FieldKind.VOLUME_DEVICE
    }
    found: list[BindSource] = []
    for f in fields:
        if f.service is None:
            continue
        if f.kind is FieldKind.SHORT_VOLUME:
            raw = str(f.node.value)
            colon = first_separator(raw, segments(raw, line_of(f.node)))
            if colon < 0:
                continue
            source = expand(raw[:colon], dotenv, environ)
            container = expand(raw[colon + 1 :], dotenv, environ).split(":")[0]
        elif f.kind in (FieldKind.BIND_SOURCE, FieldKind.VOLUME_SOURCE):
            source = expand(str(f.node.value), dotenv, environ)
            container = expand(f.container_path or "", dotenv, environ)
        else:
            continue
        if source.startswith((".", "/", "~")) and f.kind is not FieldKind.VOLUME_SOURCE:
            found.append(BindSource(f.location, f.service, host(source), container))
        elif source in devices:
            found.append(BindSource(f.location, f.service, devices[source], container))
    return found


_VALID_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def project_name_of(
    compose_text: str, project_dir: str, explicit: str | None = None, env_text: str = ""
) -> str:
    dotenv = env_values(parse_env(env_text))
    if explicit:
        return _valid_name(explicit, "-p", None)
    if dotenv.get("COMPOSE_PROJECT_NAME"):
        return _valid_name(dotenv["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME in .env", None)
    top = mapping_items(parse(compose_text).root, "the compose file")
    if "name" in top:
        node = top["name"][1]
        name = expand(scalar_text(node, "name"), dotenv, {})
        return _valid_name(name, "name:", line_of(node))
    from_dir = re.sub(r"[^a-z0-9_-]", "", normalize(project_dir).rsplit("/", 1)[-1].lower())
    if not from_dir.lstrip("_-"):
        raise ComposeError(f"cannot make a project name from the directory {project_dir!r}")
    return from_dir.lstrip("_-")


def _valid_name(name: str, source: str, line: int | None) -> str:
    if not _VALID_NAME.fullmatch(name):
        raise ComposeError(
            f"project name {name!r} from {source} must be lower case letters, digits, '_' or "
            "'-', starting with a letter or digit",
            line,
        )
    return name


def unified_diff(before: str, after: str, name: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def _absolute_dir(path: str, what: str) -> str:
    if not path.startswith("/"):
        raise ComposeError(f"the {what} must be an absolute path, not {path!r}")
    return normalize(path)
