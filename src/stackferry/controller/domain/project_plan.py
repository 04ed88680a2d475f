"""The compose project's files on the target. Pure.

The source agent sends every file of the project (StackInfo.project_files: each -f file,
included and extended files, the .env / --env-files, env_file entries, secrets and configs
files, with their content). The project is loaded again here from those texts and translated
as a whole (compose/translate_project.py: each compose file against its own base directory,
comments kept), so the target runs compose with the same -f list, env files and profiles.

A file lands where the migrated data puts it when it lies in a moved tree (`inside_data`);
every other file is carried as a file by the deploy. Each problem that keeps a file from
being carried is named in `problems`, which validation refuses: a file is never dropped.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from stackferry.compose import (
    FileTranslation,
    Rewrite,
    load_project,
    translate_project,
)
from stackferry.compose.paths import is_within, normalize
from stackferry.controller.domain.model import CarriedFilePlan, SourceProject
from stackferry.hostapi import ProjectFile


@dataclass(frozen=True)
class ProjectPlan:
    compose_dir: str  # the target project directory
    compose_filename: str  # the first -f file's name in it
    compose_text: str  # the first -f file, translated
    compose_diff: str
    env_text: str  # the project directory's .env, translated ("" without one)
    env_diff: str
    env_exists: bool
    rewrites: tuple[Rewrite, ...]
    carried: tuple[CarriedFilePlan, ...]  # every file, in load order
    deploy_files: tuple[ProjectFile, ...]  # every file but the first and the .env, at its target
    compose_files: tuple[str, ...]  # the target -f list
    env_files: tuple[str, ...]  # the target --env-file list; (): the .env in compose_dir
    problems: tuple[str, ...]


def _text(content: bytes) -> str:
    return content.decode("utf-8", errors="surrogateescape")


def plan_project(
    source: SourceProject,
    project_name: str,
    path_map: Sequence[tuple[str, str]],
    compose_dir: str,
    moved_trees: Sequence[tuple[str, str]],
) -> ProjectPlan:
    """The project's files on the target; ComposeError for a project that does not load.
    `moved_trees` are the (source, target) directories the data movers copy."""
    present = {f.path: f for f in source.files if f.exists}
    texts = {path: _text(f.content) for path, f in present.items()}
    loaded = load_project(
        source.compose_files,
        source.project_dir,
        env_files=source.env_files,
        profiles=source.profiles,
        explicit_name=project_name,
        read=texts.get,
        exists=lambda path: path in present,
    )
    translation = translate_project(loaded, list(path_map), target_project_dir=compose_dir)
    by_path = {f.path: f for f in translation.files}
    main = source.compose_files[0]
    dot_env = posixpath.join(source.project_dir, ".env")
    problems = _problems(source, translation.files, main)
    carried = tuple(
        CarriedFilePlan(
            f.kind,
            f.path,
            f.target_path,
            f.relative,
            _inside(f.path, f.target_path, moved_trees),
            f.diff,
        )
        for f in translation.files
    )
    env = by_path.get(dot_env)
    deploy_files = tuple(
        _deploy_file(f, present.get(f.path), f.path in loaded.texts)
        for f in translation.files
        if f.path not in (main, dot_env)
    )
    main_file = by_path[main]
    return ProjectPlan(
        compose_dir=compose_dir,
        compose_filename=posixpath.basename(main),
        compose_text=main_file.after,
        compose_diff=main_file.diff,
        env_text=env.after if env else "",
        env_diff=env.diff if env else "",
        env_exists=env is not None,
        rewrites=translation.rewrites,
        carried=carried,
        deploy_files=deploy_files,
        compose_files=tuple(by_path[f].target_path for f in source.compose_files),
        env_files=()
        if tuple(source.env_files) in ((), (dot_env,))
        else tuple(by_path[e].target_path for e in source.env_files if e in by_path),
        problems=problems,
    )


def _inside(path: str, target: str, trees: Sequence[tuple[str, str]]) -> bool:
    """Whether a moved tree holds the file and puts it at `target` on the target host."""
    for source_dir, target_dir in trees:
        if is_within(path, source_dir):
            landing = normalize(f"{target_dir}/{posixpath.relpath(path, source_dir)}")
            if landing == target:
                return True
    return False


def _deploy_file(f: FileTranslation, reported: ProjectFile | None, read: bool) -> ProjectFile:
    """The file as the deploy writes it: its translated text, or (a secrets or configs file,
    which compose never reads as text) the bytes the source sent."""
    assert reported is not None  # translate_project lists only files the source sent
    content = f.after.encode("utf-8", errors="surrogateescape") if read else reported.content
    return ProjectFile(
        path=f.target_path,
        kind=f.kind,
        relative=f.relative,
        content=content,
        owner=reported.owner,
        exists=True,
        mode=reported.mode,
        uid=reported.uid,
        gid=reported.gid,
    )


def _problems(
    source: SourceProject, files: Sequence[FileTranslation], main: str
) -> tuple[str, ...]:
    found = []
    if posixpath.dirname(main) != source.project_dir:
        found.append(
            f"{main}: the first compose file is outside the project directory "
            f"{source.project_dir} (--project-directory): not supported, move the file there"
        )
    landing: dict[str, str] = {}
    for f in files:
        other = landing.setdefault(f.target_path, f.path)
        if other != f.path:
            found.append(f"{f.path} and {other} would both be written to {f.target_path}")
    return tuple(found)
