"""`extends:` as compose resolves it: the service named (in this file, or in `file:` read with
its own directory as the base of its relative paths) under the local definition, which wins."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from stackferry.compose.document import (
    MappingNode,
    Node,
    ScalarNode,
    is_null,
    line_of,
    mapping_items,
)
from stackferry.compose.errors import ComposeError
from stackferry.compose.merge import merge_service
from stackferry.compose.resolve import Interpolation, resolve_document

if TYPE_CHECKING:
    from stackferry.compose.loader import Loader


def apply_extends(loader: Loader, root: MappingNode, path: str, env: Interpolation) -> MappingNode:
    """`root` (the resolved file at `path`) with every service's `extends:` applied."""
    top = mapping_items(root, "the compose file")
    if "services" not in top or is_null(top["services"][1]):
        return root
    services = mapping_items(top["services"][1], "services")
    if not any("extends" in mapping_items(s, n) for n, (_, s) in services.items()):
        return root
    done: dict[str, Node] = {}
    for name in services:
        _extended(loader, (path, root), name, env, done, [])
    new_services = [(key, done[name]) for name, (key, _) in services.items()]
    services_node = top["services"][1]
    pairs = [
        (
            key,
            MappingNode(
                services_node.tag, new_services, services_node.start_mark, services_node.end_mark
            ),
        )
        if key.value == "services"
        else (key, value)
        for key, value in root.value
    ]
    return MappingNode(root.tag, pairs, root.start_mark, root.end_mark)


def _extended(
    loader: Loader,
    file: tuple[str, MappingNode],
    name: str,
    env: Interpolation,
    done: dict[str, Node],
    chain: list[tuple[str, str]],
) -> Node:
    """Service `name` of `file` with its extends applied (`done`: this file's finished ones)."""
    path, root = file
    if name in done:
        return done[name]
    if (path, name) in chain:
        cycle = " -> ".join(f"{p}:{s}" for p, s in [*chain, (path, name)])
        raise ComposeError(f"extends has a cycle: {cycle}", file=path)
    services = mapping_items(mapping_items(root, "the compose file")["services"][1], "services")
    spec = services[name][1]
    items = mapping_items(spec, f"services.{name}")
    if "extends" not in items:
        done[name] = spec
        return spec
    extends = items["extends"][1]
    where = f"services.{name}.extends"
    if isinstance(extends, ScalarNode):
        other_file, other_name = None, str(extends.value)
    else:
        options = mapping_items(extends, where)
        if "service" not in options:
            raise ComposeError(f"{where} has no service:", line_of(extends), path)
        other_name = str(options["service"][1].value)
        other_file = options.get("file")
    chain = [*chain, (path, name)]
    if other_file is None:
        if other_name not in services:
            raise ComposeError(
                f"{where}: no service {other_name!r} in this file", line_of(extends), path
            )
        base = _extended(loader, file, other_name, env, done, chain)
    else:
        other_path = str(other_file[1].value)  # made absolute by resolve.py
        line = line_of(other_file[1])
        doc = loader.document(other_path, "extends", path, line)
        try:
            other_root = resolve_document(doc, env, posixpath.dirname(other_path))
            loader.bases.setdefault(other_path, (posixpath.dirname(other_path), env.sources))
            other_services = mapping_items(other_root, "the compose file").get("services")
            if other_services is None or other_name not in mapping_items(
                other_services[1], "services"
            ):
                raise ComposeError(
                    f"{where}: no service {other_name!r} in {other_path}", line, path
                )
            loader._record_service_files(other_root, other_path)
            base = _extended(loader, (other_path, other_root), other_name, env, {}, chain)
        except ComposeError as error:
            raise error.in_file(other_path) from None
    local = MappingNode(
        spec.tag,
        [(k, v) for k, v in spec.value if k.value != "extends"],
        spec.start_mark,
        spec.end_mark,
    )
    merged = merge_service(base, local)
    done[name] = merged
    return merged
