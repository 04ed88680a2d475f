"""Reads the files of a compose project, each once: parses, resolves (resolve.py), applies
`extends:` and `include:`, merges the `-f` files, and records every file it touched (the files
a migration carries) and the compose features the project needs."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from stackferry.compose.document import (
    Document,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    is_null,
    line_of,
    mapping_items,
    parse,
)
from stackferry.compose.errors import ComposeError
from stackferry.compose.extends import apply_extends
from stackferry.compose.include import apply_includes
from stackferry.compose.merge import OVERRIDE, RESET, merge_roots, strip_tags
from stackferry.compose.profiles import check_durations
from stackferry.compose.resolve import Interpolation, resolve_document
from stackferry.compose.variables import env_values, parse_env

# path -> (path, kind, owner, required, exists)
Carried = tuple[str, str, str, bool, bool]


@dataclass
class Loader:
    read: Callable[[str], str | None]
    home: str
    environ: Mapping[str, str]
    exists: Callable[[str], bool] | None = None  # secrets/configs files; None: read them
    carried: dict[str, Carried] = field(default_factory=dict)
    features: set[str] = field(default_factory=set)
    texts: dict[str, str] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    # compose file -> (the directory its relative paths resolve against, its env files)
    bases: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    loading: list[str] = field(default_factory=list)  # the files being loaded, outermost first

    def text(
        self, path: str, kind: str, owner: str, line: int | None = None, required: bool = True
    ) -> str | None:
        """The file's text, recorded as carried; a missing required file is a ComposeError
        naming the file (and line) that refers to it."""
        if path in self.texts:
            return self.texts[path]
        text = self.read(path)
        if path not in self.carried:
            self.carried[path] = (path, kind, owner, required, text is not None)
        if text is None:
            if not required:
                return None
            named = {"compose": "compose file", "env": "env file"}
            what = kind if kind in ("env_file", "label_file") else named.get(kind, f"{kind} file")
            raise ComposeError(f"{what} {path} does not exist", line, owner)
        self.texts[path] = text
        return text

    def document(self, path: str, kind: str, owner: str, line: int | None) -> Document:
        if path not in self.documents:
            text = self.text(path, kind, owner, line)
            assert text is not None
            try:
                self.documents[path] = parse(text)
            except ComposeError as error:
                raise error.in_file(path) from None
            self.features |= _tag_features(self.documents[path].root)
        return self.documents[path]

    def env_values(self, paths: Sequence[str], kind: str, owner: str) -> dict[str, str]:
        """Variables of env files, later files winning; each file may use the ones above."""
        values: dict[str, str] = {}
        for path in paths:
            text = self.text(path, kind, owner)
            assert text is not None
            try:
                entries = parse_env(text)
            except ComposeError as error:
                raise error.in_file(path) from None
            values.update(env_values(entries, {**values, **self.environ}))
        return values

    def load_files(
        self,
        paths: Sequence[str],
        base_dir: str,
        env: Interpolation,
        kind: str,
        owner: str,
        line: int | None = None,
    ) -> MappingNode:
        """The `-f` files (or one include's paths) merged in order, tags settled."""
        merged: MappingNode | None = None
        for path in paths:
            root = self.load_file(path, base_dir, env, kind, owner, line)
            merged = root if merged is None else merge_roots(merged, root)
        assert merged is not None
        settled = strip_tags(merged)
        assert isinstance(settled, MappingNode)
        return settled

    def load_file(
        self,
        path: str,
        base_dir: str,
        env: Interpolation,
        kind: str,
        owner: str,
        line: int | None = None,
    ) -> MappingNode:
        """One file resolved against `base_dir`, its extends and includes applied."""
        doc = self.document(path, kind, owner, line)
        if path in self.loading:
            cycle = " -> ".join([*self.loading[self.loading.index(path) :], path])
            raise ComposeError(f"include has a cycle: {cycle}", line, owner)
        self.loading.append(path)
        try:
            root = resolve_document(doc, env, base_dir)
            root = apply_extends(self, root, path, env)
            root = apply_includes(self, root, path, base_dir, env)
            services = mapping_items(root, "the compose file").get("services")
            if services is not None and not is_null(services[1]):
                check_durations(services[1])
        except ComposeError as error:
            raise error.in_file(path) from None
        finally:
            self.loading.pop()
        self._record_service_files(root, path)
        self.bases.setdefault(path, (base_dir, env.sources))
        return root

    def _record_service_files(self, root: MappingNode, owner: str) -> None:
        """env_file entries must exist unless `required: false`; secrets/configs `file:`."""
        top = mapping_items(root, "the compose file")
        if "services" in top and not is_null(top["services"][1]):
            for name, (_, spec) in mapping_items(top["services"][1], "services").items():
                fields = mapping_items(spec, f"services.{name}")
                env_file = fields.get("env_file")
                if env_file is not None and not is_null(env_file[1]):
                    for path, required, node in env_file_entries(env_file[1], self.features):
                        self.text(path, "env_file", owner, line_of(node), required)
                label_file = fields.get("label_file")
                if label_file is not None and not is_null(label_file[1]):
                    self.features.add("label_file")
                    node = label_file[1]
                    for item in node.value if isinstance(node, SequenceNode) else [node]:
                        self.text(str(item.value), "label_file", owner, line_of(item))
        for section, kind in (("secrets", "secret"), ("configs", "config")):
            if section in top and not is_null(top[section][1]):
                for name, (_, spec) in mapping_items(top[section][1], section).items():
                    file_node = mapping_items(spec, f"{section}.{name}").get("file")
                    if file_node is not None:
                        path = str(file_node[1].value)
                        if path not in self.carried:
                            self.carried[path] = (
                                path,
                                kind,
                                owner,
                                True,
                                self.exists(path) if self.exists else self.read(path) is not None,
                            )


def env_file_entries(node: Node, features: set[str]) -> list[tuple[str, bool, Node]]:
    """(absolute path, required, node) of a resolved `env_file:` (string, list, long syntax)."""
    if isinstance(node, ScalarNode):
        return [(str(node.value), True, node)]
    if not isinstance(node, SequenceNode):
        raise ComposeError("env_file must be a string or a list", line_of(node))
    found: list[tuple[str, bool, Node]] = []
    for entry in node.value:
        if isinstance(entry, MappingNode):
            features.add("env_file long syntax")
            items = mapping_items(entry, "env_file entry")
            required = items.get("required")
            optional = required is not None and str(required[1].value).lower() in ("false", "no")
            found.append((str(items["path"][1].value), not optional, entry))
        else:
            found.append((str(entry.value), True, entry))
    return found


def env_paths(loader: Loader, explicit: Sequence[str], project_dir: str) -> list[str]:
    """`--env-file`s when given (each must exist), else the project's `.env` if there is one."""
    if explicit:
        return list(explicit)
    dot_env = posixpath.join(project_dir, ".env")
    if loader.read(dot_env) is None:
        return []
    loader.text(dot_env, "env", "")
    return [dot_env]


def _tag_features(node: Node) -> set[str]:
    found: set[str] = set()
    if node.tag == RESET:
        found.add("!reset")
    elif node.tag == OVERRIDE:
        found.add("!override")
    if isinstance(node, MappingNode):
        for _, value in node.value:
            found |= _tag_features(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            found |= _tag_features(item)
    return found
