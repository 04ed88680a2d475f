"""`include:` (Compose 2.20+): each entry is a project of its own, loaded with its own project
directory (default: the directory of its first file) and its own env file (default: that
directory's `.env`), whose variables fill in only what the including project leaves unset.
Its services, volumes, networks, secrets and configs join the including file; a name both
define is an error, as in compose.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

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
from stackferry.compose.paths import absolute
from stackferry.compose.resolve import Interpolation, new_mapping

if TYPE_CHECKING:
    from stackferry.compose.loader import Loader

_SECTIONS = ("services", "volumes", "networks", "secrets", "configs")


def apply_includes(
    loader: Loader, root: MappingNode, path: str, base_dir: str, env: Interpolation
) -> MappingNode:
    """`root` with its `include:` entries loaded into it and the `include` key gone."""
    top = mapping_items(root, "the compose file")
    if "include" not in top:
        return root
    loader.features.add("include")
    entries = top["include"][1]
    if not isinstance(entries, SequenceNode):
        raise ComposeError("include must be a list", line_of(entries), path)
    sections = {name: list(_pairs(top, name)) for name in _SECTIONS}
    for index, entry in enumerate(entries.value):
        where = f"include[{index}]"
        files, project_dir, env_files = _entry(entry, where, base_dir, loader.home)
        if not env_files:
            dot_env = posixpath.join(project_dir, ".env")
            env_files = [dot_env] if loader.read(dot_env) is not None else []
        own = loader.env_values(env_files, "env", path)
        sources = (*env_files, *env.sources)  # the including project's files win
        included_env = Interpolation({**own, **env.dotenv}, env.environ, env.home, sources)
        sub = loader.load_files(files, project_dir, included_env, "include", path, line_of(entry))
        sub_top = mapping_items(sub, f"the included {files[0]}")
        for name in _SECTIONS:
            known = {str(k.value) for k, _ in sections[name]}
            for key, value in _pairs(sub_top, name):
                if str(key.value) in known:
                    raise ComposeError(
                        f"{name}.{key.value} from the included {files[0]} is defined here too",
                        line_of(entry),
                        path,
                    )
                sections[name].append((key, value))
    pairs = [(k, v) for k, v in root.value if k.value not in ("include", *_SECTIONS)]
    for name in _SECTIONS:
        if sections[name]:
            key = top[name][0] if name in top else ScalarNode("tag:yaml.org,2002:str", name)
            pairs.append((key, new_mapping(sections[name], root)))
    return MappingNode(root.tag, pairs, root.start_mark, root.end_mark)


def _pairs(top: dict[str, tuple[ScalarNode, Node]], name: str) -> list[tuple[ScalarNode, Node]]:
    if name not in top or is_null(top[name][1]):
        return []
    return [(key, value) for key, value in mapping_items(top[name][1], name).values()]


def _local(path: str, where: str, entry: Node) -> str:
    if "://" in path or path.startswith("git@"):
        raise ComposeError(
            f"{where}: a remote include ({path}) is not supported: only local files are carried",
            line_of(entry),
        )
    return path


def _entry(entry: Node, where: str, base_dir: str, home: str) -> tuple[list[str], str, list[str]]:
    """(files, project directory, env files) of one include entry, all absolute."""
    if isinstance(entry, ScalarNode):
        files = [absolute(_local(str(entry.value), where, entry), base_dir, home)]
        return files, posixpath.dirname(files[0]), []
    items = mapping_items(entry, where)
    if "path" not in items:
        raise ComposeError(f"{where} has no path:", line_of(entry))
    paths = _strings(items["path"][1], f"{where}.path")
    files = [absolute(_local(p, where, entry), base_dir, home) for p in paths]
    project_dir = (
        absolute(str(items["project_directory"][1].value), base_dir, home)
        if "project_directory" in items
        else posixpath.dirname(files[0])
    )
    env_files = (
        [absolute(p, base_dir, home) for p in _strings(items["env_file"][1], f"{where}.env_file")]
        if "env_file" in items
        else []
    )
    return files, project_dir, env_files


def _strings(node: Node, where: str) -> list[str]:
    if isinstance(node, ScalarNode):
        return [str(node.value)]
    if not isinstance(node, SequenceNode) or not node.value:
        raise ComposeError(f"{where} must be a string or a list", line_of(node))
    return [str(item.value) for item in node.value]
