"""Compose files, read once for both sides: what the agent needs to inspect and deploy a
stack, and the comment-preserving translation the controller plans a migration with.

Pure: no grpc, no docker, no filesystem. Callers pass texts (the compose file, its
`.env`) and the facts of the host that reads them (project directory, HOME).

API
---
``load_compose(text, env_text, project_dir, explicit_name="", home="/root") -> ComposeFile``
    ``ComposeFile(project_name, project_dir, services)`` with ``.images``, ``.binds``
    (``BindMount(service, source, target)``: every host directory a service mounts,
    absolute, including named volumes bound to one through ``driver_opts``) and
    ``.ports`` (``PortBinding(host_ip, port, protocol)``, ranges expanded), ``.mounts``
    (``ServiceMount(service, type, source, target, read_only, location)``: every mount,
    bind / named or anonymous volume / tmpfs) and ``.volumes`` (``VolumeSpec``: each
    top-level volume with the name the engine gives it, driver, options, labels, external,
    and the host directory a ``driver_opts`` bind points at). The project
    name follows Compose: ``-p`` (``explicit_name``), ``COMPOSE_PROJECT_NAME`` in ``.env``,
    the top-level ``name:``, then the directory name normalised like Compose
    (``normalise_project_name``: lower case, only ``a-z0-9_-``, no leading ``_``/``-``).
    Chosen names must already be valid; Compose refuses others too.

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

``unified_diff(before, after, name) -> str``
    For the plan (``compose_diff``, ``env_diff``); empty when the texts are equal.

Errors: ``ComposeError`` (a ``ValueError``; ``.line`` is 1-based) for text that is not
YAML, not a mapping, services that are not a mapping, bad interpolation, a required
variable (``${VAR:?err}``) that is not set, a bad project name, a bad path map...

Rules
-----
- Interpolation is Compose's: ``$VAR``, ``${VAR}``, ``${VAR:-d}``, ``${VAR-d}``,
  ``${VAR:?err}``, ``${VAR?err}``, ``${VAR:+alt}``, ``${VAR+alt}``, ``$$`` for a ``$``;
  a default may hold variables (``${A:-${B}}``). Values come from ``.env`` (python-dotenv
  quoting), ``HOME`` from ``home``; the rest of the environment is not read.
- The translated text is never dumped again: only the scalars that change are spliced
  in, in the quoting style the user wrote. Comments, order, anchors and formatting
  survive; with nothing to change (an identity map) the output is byte-identical.
- A path written through a variable keeps the variable: its value is rewritten in
  ``.env`` when set there (the other lines of ``.env`` stay as written), else the default
  in ``${VAR:-default}`` / ``${VAR-default}`` is rewritten in place. Only the first part
  of a path is rewritten; when the mapping reaches past it (``${BASE}/app`` with
  ``BASE=/data`` and a map for ``/data/app``) the path is UNTRANSLATABLE, never guessed.
  Run compose on the target without those variables in its environment, which would
  win over ``.env``.
- A relative path stays relative when it still lands inside the target project directory
  (then its text is usually unchanged, as the project moves with its data); otherwise it
  becomes absolute. ``~`` paths stay ``~`` while under ``home``.
- Paths compare lexically (``..`` is collapsed, symlinks are not followed).
"""

from __future__ import annotations

from stackferry.compose.diff import unified_diff
from stackferry.compose.errors import ComposeError
from stackferry.compose.model import BindMount, ComposeFile, PortBinding, ServiceSpec, load_compose
from stackferry.compose.mounts import ServiceMount, VolumeSpec
from stackferry.compose.project import normalise_project_name
from stackferry.compose.translate import Rewrite, RewriteKind, Translation, translate_compose

__all__ = [
    "BindMount",
    "ComposeError",
    "ComposeFile",
    "PortBinding",
    "Rewrite",
    "RewriteKind",
    "ServiceMount",
    "ServiceSpec",
    "Translation",
    "VolumeSpec",
    "load_compose",
    "normalise_project_name",
    "translate_compose",
    "unified_diff",
]
