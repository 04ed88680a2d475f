"""The compose CLI: `docker compose` (v2 plugin) when present, else `docker-compose` (v1).

Every command goes through agent/exec.py with DOCKER_HOST set, so two agents on one
machine drive two engines. The project name is always passed with -p (v1 rejects the
top-level `name:` key), the project's files as ComposeFiles: `-f` each, `--env-file` each,
`--profile` each (docker-compose 1.29 has both flags; it reads one --env-file only).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from stackferry.agent import exec as agent_exec
from stackferry.agent.errors import InvalidArgument, NotFound, Unavailable

V2 = "docker compose"
V1 = "docker-compose"


@dataclass(frozen=True)
class ComposeVariant:
    name: str  # V2 or V1
    argv: tuple[str, ...]  # ("docker", "compose") or ("docker-compose",)
    version: str


@dataclass(frozen=True)
class ComposeFiles:
    """What compose is told the project is: the -f list in order (the first file's directory
    is the project directory), the --env-file list (empty: compose's .env there), the
    profiles (empty: COMPOSE_PROFILES as compose reads it)."""

    files: tuple[str, ...]
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()

    @classmethod
    def of(cls, compose_file: str) -> ComposeFiles:
        return cls((compose_file,))

    @property
    def main(self) -> str:
        return self.files[0]


def compose_argv(
    variant: ComposeVariant, project: str, files: ComposeFiles, *args: str
) -> list[str]:
    if variant.name == V1 and len(files.env_files) > 1:
        raise InvalidArgument(
            f"{V1} {variant.version} reads one --env-file, not {len(files.env_files)}: "
            f"{', '.join(files.env_files)}"
        )
    argv = [*variant.argv, "-p", project]
    for flag, values in (
        ("-f", files.files),
        ("--env-file", files.env_files),
        ("--profile", files.profiles),
    ):
        for value in values:
            argv += [flag, value]
    return [*argv, *args]


def detect_variant(
    docker_binary: str, compose_v1_binary: str, env: Mapping[str, str]
) -> ComposeVariant | None:
    """The first compose CLI that answers `version --short`, v2 first; None when neither."""
    candidates = ((V2, (docker_binary, "compose")), (V1, (compose_v1_binary,)))
    for name, argv in candidates:
        try:
            probe = agent_exec.run([*argv, "version", "--short"], check=False, timeout=20, env=env)
        except NotFound:
            continue
        if probe.returncode == 0:
            return ComposeVariant(name, argv, probe.stdout.strip().lstrip("v"))
    return None


class ComposeCli:
    def __init__(
        self,
        env: Mapping[str, str],
        docker_binary: str = "docker",
        compose_v1_binary: str = "docker-compose",
    ) -> None:
        self._env = dict(env)
        self._docker_binary = docker_binary
        self._compose_v1_binary = compose_v1_binary
        self._variant: ComposeVariant | None = None
        self._lock = threading.Lock()

    def variant(self) -> ComposeVariant | None:
        """Detected once, on first use (a missing CLI is looked for again next time)."""
        with self._lock:
            if self._variant is None:
                self._variant = detect_variant(
                    self._docker_binary, self._compose_v1_binary, self._env
                )
            return self._variant

    def require(self) -> ComposeVariant:
        variant = self.variant()
        if variant is None:
            raise Unavailable(
                f"no compose CLI on this host: neither `{self._docker_binary} compose` "
                f"nor `{self._compose_v1_binary}` answers"
            )
        return variant

    def run(self, project: str, files: ComposeFiles, *args: str, timeout: float) -> None:
        argv = compose_argv(self.require(), project, files, *args)
        agent_exec.run(argv, timeout=timeout, env=self._env, cwd=_dirname(files.main))


def _dirname(path: str) -> str:
    return path.rpartition("/")[0] or "/"
