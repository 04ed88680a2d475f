"""Compose translation: move a stack's host paths to where its data lands on the target.

Each host-path field becomes a `_Use`: its path split into parts (literal text, or a
variable whose text lives in `.env` or in a default written in the compose file). A
path that does not already land where the map sends it is fixed by rewriting its first
part only: the literal, the `.env` value, or the default. Then every use is checked
again with all rewrites applied, because a `.env` value rewritten for one path also
moves every other path built from it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from stackferry.compose.document import (
    Document,
    ScalarSpan,
    line_of,
    parse,
    render_scalar,
    scalar_values,
    splice,
)
from stackferry.compose.errors import ComposeError
from stackferry.compose.fields import FieldKind, PathField, path_fields
from stackferry.compose.paths import PathMap, absolute, absolute_dir, render
from stackferry.compose.variables import (
    EnvEntry,
    Literal,
    Reference,
    env_values,
    escape_literal,
    first_separator,
    parse_env,
    resolve,
    rewrite_env,
    segments,
)


class RewriteKind(enum.StrEnum):
    TRANSLATED = "translated"  # covered by the map (possibly onto itself)
    UNMAPPED = "unmapped"  # a host path outside every mapping: left where it is
    NOT_HOST_PATH = "not a host path"  # named volume, anonymous volume, remote build context
    UNTRANSLATABLE = "untranslatable"  # must move but cannot be rewritten: the plan must stop


@dataclass(frozen=True)
class Rewrite:
    """One path the translation looked at.

    `before`/`after` are the absolute host paths (the name, for what is not a host path;
    the value, for a `.env` entry); `changed` says the compose or `.env` text changed for it
    or the path it names moved.
    """

    location: str
    before: str
    after: str
    reason: str
    changed: bool
    kind: RewriteKind


@dataclass(frozen=True)
class Translation:
    compose_text: str
    env_text: str
    rewrites: tuple[Rewrite, ...]
    target_project_dir: str

    @property
    def untranslatable(self) -> tuple[Rewrite, ...]:
        return tuple(r for r in self.rewrites if r.kind is RewriteKind.UNTRANSLATABLE)


@dataclass(frozen=True)
class _Part:
    key: tuple[object, ...]  # the text this part comes from; one key is one edit
    value: str
    fixed_because: str | None  # why this text cannot be rewritten
    via: str  # where the text lives, for the reason shown to the user


@dataclass
class _Use:
    field: PathField
    parts: list[_Part]
    written: str
    before: str
    wanted: str
    problem: str | None = None
    edited: bool = False


@dataclass
class _Context:
    doc: Document
    env: dict[str, EnvEntry]
    dotenv: dict[str, str]
    environ: dict[str, str]
    project_dir: str
    target_dir: str
    home: str
    pmap: PathMap
    edits: dict[tuple[object, ...], str] = field(default_factory=dict)
    editors: dict[tuple[object, ...], str] = field(default_factory=dict)


def translate_compose(
    compose_text: str,
    env_text: str,
    project_dir: str,
    path_map: list[tuple[str, str]],
    home: str = "/root",
    target_project_dir: str | None = None,
) -> Translation:
    pmap = PathMap.of(path_map)
    source_dir = absolute_dir(project_dir, "project directory")
    target_dir = (
        absolute_dir(target_project_dir, "target project directory")
        if target_project_dir is not None
        else pmap.translate(source_dir)
    )
    doc = parse(compose_text)
    entries = parse_env(env_text)
    home = absolute_dir(home, "home")
    new_compose, env_changes, rewrites = _translate(
        doc, entries, (source_dir, target_dir, home, pmap)
    )
    new_env = rewrite_env(env_text, entries, env_changes) if env_changes else env_text
    return Translation(new_compose, new_env, tuple(rewrites), target_dir)


def _translate(
    doc: Document, entries: list[EnvEntry], ctx_args: tuple[str, str, str, PathMap]
) -> tuple[str, dict[str, str], list[Rewrite]]:
    """Rewritten compose text, new `.env` values by key, and the report."""
    project_dir, target_dir, home, pmap = ctx_args
    env = {entry.key: entry for entry in entries}
    dotenv = env_values(entries, {"HOME": home})
    ctx = _Context(doc, env, dotenv, {"HOME": home}, project_dir, target_dir, home, pmap)
    report: list[Rewrite | _Use] = []
    uses: list[_Use] = []
    for path_field in path_fields(doc):
        found = _use_of(ctx, path_field)
        report.append(found)
        if isinstance(found, _Use):
            uses.append(found)
    for use in uses:
        _propose_edit(ctx, use)
    for use in uses:
        _check(ctx, use)
    rewrites = [item if isinstance(item, Rewrite) else _rewrite_of(ctx, item) for item in report]
    env_changes = {str(key[1]): new for key, new in ctx.edits.items() if key[0] == "env"}
    for name, new in env_changes.items():
        users = ", ".join(u.field.location for u in uses if ("env", name) in _keys(u))
        reason = f"line {env[name].line}: value rewritten for {users}"
        rewrites.append(
            Rewrite(f".env:{name}", env[name].value, new, reason, True, RewriteKind.TRANSLATED)
        )
    rewrites.extend(_other_users(ctx, uses, env_changes))
    return _apply_compose_edits(ctx, uses), env_changes, rewrites


def _other_users(ctx: _Context, uses: list[_Use], changed: dict[str, str]) -> list[Rewrite]:
    """Values outside the path fields that read a rewritten `.env` variable change too."""
    if not changed:
        return []
    path_nodes = {id(use.field.node) for use in uses}
    found: list[Rewrite] = []
    for location, node in scalar_values(ctx.doc.root):
        value = str(node.value)
        if id(node) in path_nodes or "$" not in value:
            continue
        names = _env_references(ctx, value, changed)
        if names:
            found.append(_indirect(location, value, names))
    for entry in ctx.env.values():
        if entry.key not in changed and entry.quote != "'" and "$" in entry.value:
            names = _env_references(ctx, entry.value, changed)
            if names:
                found.append(_indirect(f".env:{entry.key}", entry.value, names))
    return found


def _env_references(ctx: _Context, value: str, changed: dict[str, str]) -> list[str]:
    try:
        return [
            part.name
            for part in segments(value)
            if isinstance(part, Reference)
            and part.name in changed
            and resolve(part, ctx.dotenv, ctx.environ).origin == "env"
        ]
    except ComposeError:
        return []  # not read as a path here; compose reports it when it reads the field


def _indirect(location: str, value: str, names: list[str]) -> Rewrite:
    reason = f"not a host path, but reads {', '.join(names)}, rewritten in .env: check it"
    return Rewrite(location, value, value, reason, True, RewriteKind.NOT_HOST_PATH)


def _keys(use: _Use) -> set[tuple[object, ...]]:
    return {part.key for part in use.parts}


def _use_of(ctx: _Context, path_field: PathField) -> _Use | Rewrite:
    node, location = path_field.node, path_field.location
    value = str(node.value)
    parts = segments(value, line_of(node))
    if path_field.kind is FieldKind.SHORT_VOLUME:
        colon = first_separator(value, parts)
        if colon < 0:
            return _not_a_path(location, value, "anonymous volume: no host path")
        parts = segments(value[:colon], line_of(node))
    resolved = [_part(ctx, path_field, part) for part in parts]
    written = "".join(part.value for part in resolved)
    if not written and path_field.kind is not FieldKind.VOLUME_SOURCE:
        causes = [p.fixed_because for p in resolved if p.fixed_because]
        reason = "; ".join(["the host path is empty", *causes])
        return Rewrite(location, "", "", reason, False, RewriteKind.UNTRANSLATABLE)
    if path_field.kind is FieldKind.VOLUME_SOURCE or (
        path_field.kind is FieldKind.SHORT_VOLUME and not written.startswith((".", "/", "~"))
    ):
        return _not_a_path(
            location,
            written,
            "named volume: keeps its name (the plan's mounts say how its data moves)",
        )
    if path_field.kind is FieldKind.BUILD_CONTEXT and (
        "://" in written or written.startswith(("git@", "github.com/"))
    ):
        return _not_a_path(location, written, "remote build context")
    before = absolute(written, ctx.project_dir, ctx.home)
    return _Use(path_field, resolved, written, before, ctx.pmap.translate(before))


def _not_a_path(location: str, text: str, reason: str) -> Rewrite:
    return Rewrite(location, text, text, reason, False, RewriteKind.NOT_HOST_PATH)


def _part(ctx: _Context, path_field: PathField, part: Literal | Reference) -> _Part:
    node_id = id(path_field.node)
    if isinstance(part, Literal):
        return _Part(("text", node_id, part.start, part.end), part.text, None, "")
    name = part.name
    got = resolve(part, ctx.dotenv, ctx.environ, line_of(path_field.node))
    if got.origin == "env":
        entry = ctx.env[name]
        refers = "$" in entry.value and entry.quote != "'"
        fixed = f"the .env value of {name} refers to other variables" if refers else None
        return _Part(("env", name), got.value, fixed, f" through {name} in .env")
    if got.origin == "word":
        fixed = f"the default of ${{{name}}} holds a variable" if "$" in part.word else None
        key = ("word", node_id, part.word_start, part.word_end)
        return _Part(key, got.value, fixed, f" in the default of ${{{name}}}")
    if got.origin == "environment":
        return _Part(("environ", name), got.value, f"{name} comes from the environment", "")
    return _Part(("unset", name), "", f"{name} is not set in .env and has no default", "")


def _lands_on(ctx: _Context, written: str) -> str:
    return absolute(written, ctx.target_dir, ctx.home)


def _propose_edit(ctx: _Context, use: _Use) -> None:
    """Rewrite the first part of `use` so the path lands where the map sends it."""
    if _lands_on(ctx, use.written) == use.wanted:
        return
    first = use.parts[0]
    if first.fixed_because is not None:
        use.problem = f"cannot rewrite: {first.fixed_because}"
        return
    source_dir = absolute(first.value, ctx.project_dir, ctx.home)
    dot_prefix = use.field.kind is FieldKind.SHORT_VOLUME
    new = render(ctx.pmap.translate(source_dir), first.value, ctx.target_dir, ctx.home, dot_prefix)
    if _lands_on(ctx, new + use.written[len(first.value) :]) != use.wanted:
        use.problem = (
            f"the mapping reaches past {first.value!r}{first.via}, which cannot move alone"
        )
        return
    if first.key[0] == "word" and ("}" in new or "$" in new):
        use.problem = f"the new path {new!r} cannot be written in a ${{...}} default"
        return
    if first.key[0] != "env" and ctx.doc.span(use.field.node).style in ("|", ">"):
        use.problem = "the path is a block scalar (| or >); write it on one line"
        return
    if ctx.edits.setdefault(first.key, new) != new:
        use.problem = (
            f"{first.value!r}{first.via} is rewritten differently for {ctx.editors[first.key]}"
        )
        return
    ctx.editors.setdefault(first.key, use.field.location)
    use.edited = True


def _check(ctx: _Context, use: _Use) -> None:
    """With every edit applied, `use` must land on the path the map sends it to."""
    if use.problem is not None:
        return
    lands = _lands_on(ctx, "".join(ctx.edits.get(p.key, p.value) for p in use.parts))
    if lands != use.wanted:
        shared = [ctx.editors[p.key] for p in use.parts if p.key in ctx.edits]
        use.problem = f"would move to {lands}: it shares a rewritten part with {', '.join(shared)}"


def _rewrite_of(ctx: _Context, use: _Use) -> Rewrite:
    location = use.field.location
    if use.problem is not None:
        return Rewrite(
            location, use.before, use.wanted, use.problem, False, RewriteKind.UNTRANSLATABLE
        )
    entry = ctx.pmap.match(use.before)
    changed = use.edited or use.before != use.wanted
    if entry is None:
        reason = "outside every mapping: left as is"
        if use.edited:
            reason += "; made absolute because the project directory moves"
        return Rewrite(location, use.before, use.wanted, reason, changed, RewriteKind.UNMAPPED)
    mapping = f"{entry[0]}={entry[1]}"
    if use.edited:
        reason = f"rewritten{use.parts[0].via} by {mapping}"
    elif use.before == use.wanted:
        reason = f"mapped onto itself by {mapping}"
    else:
        reason = f"kept relative: the project directory moves with it ({mapping})"
    return Rewrite(location, use.before, use.wanted, reason, changed, RewriteKind.TRANSLATED)


def _apply_compose_edits(ctx: _Context, uses: list[_Use]) -> str:
    by_node: dict[int, list[tuple[int, int, str]]] = {}
    fields: dict[int, PathField] = {}
    for use in uses:
        key = use.parts[0].key
        if use.edited and key[0] in ("text", "word"):
            _, node_id, start, end = key
            assert isinstance(node_id, int) and isinstance(start, int) and isinstance(end, int)
            new = ctx.edits[key]
            text = escape_literal(new) if key[0] == "text" else new
            by_node.setdefault(node_id, [])
            if (start, end, text) not in by_node[node_id]:
                by_node[node_id].append((start, end, text))
            fields[node_id] = use.field
    replacements: list[tuple[ScalarSpan, str]] = []
    for node_id, changes in by_node.items():
        path_field = fields[node_id]
        value = str(path_field.node.value)
        for start, end, text in sorted(changes, reverse=True):
            value = value[:start] + text + value[end:]
        span = ctx.doc.span(path_field.node)
        rendered = render_scalar(value, span.style, path_field.in_flow)
        if rendered is None:
            raise ComposeError("cannot rewrite a block scalar", line_of(path_field.node))
        replacements.append((span, rendered))
    return splice(ctx.doc.text, replacements)
