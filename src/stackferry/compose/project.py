"""The project name, in the order Compose documents: `-p`, then `COMPOSE_PROJECT_NAME`
(here from `.env`), then the top-level `name:`, then the project directory's name.

`-p` must already be valid (the agent normalises a name typed for inspect itself). A name
from `COMPOSE_PROJECT_NAME`, `name:` or the directory is normalised as docker-compose v1 does
and as the agent always did (`My_App` runs as `my_app`), then checked.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from stackferry.compose.document import Node, ScalarNode, line_of, scalar_text
from stackferry.compose.errors import ComposeError
from stackferry.compose.variables import interpolate

_VALID_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,127}")


def normalise_project_name(name: str) -> str:
    """Lower case, only `a-z0-9_-`, no leading `_` or `-`: what Compose makes of a directory."""
    return re.sub(r"[^a-z0-9_-]", "", name.lower()).lstrip("_-")


def project_name(
    top: Mapping[str, tuple[ScalarNode, Node]],
    dotenv: Mapping[str, str],
    environ: Mapping[str, str],
    project_dir: str,
    explicit: str,
) -> str:
    """The project name of a compose file whose top-level keys are `top`."""
    if explicit:
        return _valid_name(explicit, "-p", None)
    if dotenv.get("COMPOSE_PROJECT_NAME"):
        chosen = normalise_project_name(dotenv["COMPOSE_PROJECT_NAME"])
        return _valid_name(chosen, "COMPOSE_PROJECT_NAME in .env", None)
    if "name" in top:
        node = top["name"][1]
        declared = interpolate(scalar_text(node, "name"), dotenv, environ, line_of(node))
        if declared:  # `name: ${UNSET}` leaves the choice to the directory, as in Compose
            return _valid_name(normalise_project_name(declared), "name:", line_of(node))
    from_dir = normalise_project_name(posixpath.basename(project_dir))
    if not from_dir:
        raise ComposeError(
            f"invalid project name: cannot make one from the directory {project_dir!r}"
        )
    return _valid_name(from_dir, "the directory name", None)


def _valid_name(name: str, source: str, line: int | None) -> str:
    if not _VALID_NAME.fullmatch(name):
        raise ComposeError(
            f"project name {name!r} from {source} must be lower case letters, digits, '_' or "
            "'-', starting with a letter or digit, at most 128 characters",
            line,
        )
    return name
