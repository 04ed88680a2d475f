"""Translating a whole compose project: every carried compose file (the `-f` files, included
and extended files) is translated where it is written, against its own base directory and
env files, comments kept (translate.py); the env files get the variable rewrites those files
need; every other carried file (env_file, secrets, configs) moves unchanged.

Where a file lands: inside the project directory it keeps its place below the target project
directory; outside, it goes where the path map sends it (its own path when unmapped), and the
compose files that name it are rewritten to that place.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass

from stackferry.compose.diff import unified_diff
from stackferry.compose.paths import PathMap, absolute_dir, is_within, normalize
from stackferry.compose.project_files import LoadedProject
from stackferry.compose.translate import Rewrite, RewriteKind, translate_compose
from stackferry.compose.variables import parse_env, rewrite_env

_COMPOSE_KINDS = ("compose", "include", "extends")


@dataclass(frozen=True)
class FileTranslation:
    path: str  # on the source
    target_path: str
    kind: str  # a CarriedFile kind
    relative: str  # "" when outside the project directory
    before: str
    after: str
    rewrites: tuple[Rewrite, ...] = ()  # compose files only

    @property
    def diff(self) -> str:
        return unified_diff(self.before, self.after, self.relative or self.path.lstrip("/"))


@dataclass(frozen=True)
class ProjectTranslation:
    target_project_dir: str
    # every carried file that exists, in load order; secrets/configs files with empty texts
    files: tuple[FileTranslation, ...]

    @property
    def rewrites(self) -> tuple[Rewrite, ...]:
        return tuple(r for f in self.files for r in f.rewrites)

    @property
    def untranslatable(self) -> tuple[Rewrite, ...]:
        return tuple(r for r in self.rewrites if r.kind is RewriteKind.UNTRANSLATABLE)


def translate_project(
    loaded: LoadedProject,
    path_map: list[tuple[str, str]],
    target_project_dir: str | None = None,
    home: str = "/root",
) -> ProjectTranslation:
    pmap = PathMap.of(path_map)
    source_dir = loaded.project.project_dir
    target_dir = (
        absolute_dir(target_project_dir, "target project directory")
        if target_project_dir is not None
        else pmap.translate(source_dir)
    )

    def target_of(path: str, relative: str) -> str:
        return normalize(f"{target_dir}/{relative}") if relative else pmap.translate(path)

    texts = loaded.texts
    env_edits: dict[str, dict[str, str]] = {}  # env file -> key -> new value
    compose_results: dict[str, tuple[str, tuple[Rewrite, ...]]] = {}
    seen_env: set[tuple[str, str]] = set()
    for carried in loaded.carried_files:
        if carried.kind not in _COMPOSE_KINDS or carried.path not in texts:
            continue
        base_dir, env_files = loaded.bases[carried.path]
        env_text = "".join(_with_newline(texts[e]) for e in env_files)
        result = translate_compose(
            texts[carried.path],
            env_text,
            base_dir,
            path_map,
            home=home,
            target_project_dir=target_of(base_dir, _relative(base_dir, source_dir)),
            whole_project=False,
        )
        problems = _env_changes(env_files, texts, env_text, result.env_text, env_edits)
        fresh = [r for r in result.rewrites if not _seen(r, seen_env)]  # one .env line once
        compose_results[carried.path] = (result.compose_text, (*fresh, *problems))
    files = []
    for carried in loaded.carried_files:
        if not carried.exists:
            continue  # an optional env_file that is not there
        before = texts.get(carried.path, "")  # secrets and configs move as bytes, unread
        after, rewrites = compose_results.get(carried.path, (before, ()))
        if carried.path in env_edits:
            entries = parse_env(before)
            after = rewrite_env(before, entries, env_edits[carried.path])
        files.append(
            FileTranslation(
                carried.path,
                target_of(carried.path, carried.relative),
                carried.kind,
                carried.relative,
                before,
                after,
                rewrites,
            )
        )
    return ProjectTranslation(target_dir, tuple(files))


def _seen(rewrite: Rewrite, seen: set[tuple[str, str]]) -> bool:
    """Whether an earlier compose file already reported this `.env` rewrite."""
    if not rewrite.location.startswith(".env:"):
        return False
    key = (rewrite.location, rewrite.after)
    if key in seen:
        return True
    seen.add(key)
    return False


def _relative(path: str, base: str) -> str:
    """`path` below `base` ("." for `base` itself), "" when outside it."""
    if path == base:
        return "."
    return posixpath.relpath(path, base) if is_within(path, base) else ""


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _env_changes(
    env_files: tuple[str, ...],
    texts: Mapping[str, str],
    before: str,
    after: str,
    edits: dict[str, dict[str, str]],
) -> list[Rewrite]:
    """Record each `.env` value one compose file's translation changed, in the env file that
    sets it last; a value two compose files need different is UNTRANSLATABLE."""
    old = {e.key: e.value for e in parse_env(before)}
    new = {e.key: e.value for e in parse_env(after)}
    problems: list[Rewrite] = []
    for key, value in new.items():
        if old.get(key) == value:
            continue
        owner = next(f for f in reversed(env_files) if key in {e.key for e in parse_env(texts[f])})
        known = edits.setdefault(owner, {}).setdefault(key, value)
        if known != value:
            reason = f"{owner}: {key} would need two values: {known!r} and {value!r}"
            problems.append(
                Rewrite(f".env:{key}", old[key], value, reason, False, RewriteKind.UNTRANSLATABLE)
            )
    return problems
