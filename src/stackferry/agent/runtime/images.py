"""Docker images as a transfer stream: `docker save` on the sender, `docker load` on the
receiver, so images move through the same agent-to-agent pump as zfs streams. The sending
end is the child-process pipe of agent/process_pipes.py.

The receiving end spools the stream to a file and loads it only at commit, after the
pump verified byte count and checksum: an aborted or corrupt transfer loads nothing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence

from stackferry.agent import exec as agent_exec
from stackferry.agent.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from stackferry.agent.process_pipes import ProcessSource
from stackferry.agent.streams import Received

# repository[:tag] or repository@sha256:digest, as docker accepts them (no option-like names).
_IMAGE_RE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?$", re.IGNORECASE)


def validate_image_name(name: str) -> str:
    if not name or len(name) > 512 or not _IMAGE_RE.match(name):
        raise InvalidArgument(f"invalid image name {name!r}")
    return name


def image_save_source(
    docker_argv: Sequence[str], images: Sequence[str], env: Mapping[str, str]
) -> ProcessSource:
    """`docker save IMAGES` as a ByteSource."""
    process = agent_exec.spawn(
        [*docker_argv, "save", *map(validate_image_name, images)], stdout=True, env=env
    )
    return ProcessSource(process, finish_timeout=120)


class ImageLoadSink:
    """A ByteSink spooling into spool_dir, then `docker load -i` at commit."""

    def __init__(
        self,
        docker_argv: Sequence[str],
        env: Mapping[str, str],
        spool_dir: str,
        missing_after_load: Callable[[Sequence[str]], list[str]],
        expected: Sequence[str] = (),
    ) -> None:
        self._docker_argv = list(docker_argv)
        self._env = env
        self._missing_after_load = missing_after_load
        self._expected = [validate_image_name(i) for i in expected]
        os.makedirs(spool_dir, mode=0o700, exist_ok=True)
        fd, self._path = tempfile.mkstemp(prefix="images-", suffix=".tar", dir=spool_dir)
        self._file = os.fdopen(fd, "wb")

    def write(self, data: memoryview | bytes) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise ResourceExhausted(f"no space left spooling images in {self._path}") from exc
            raise

    def commit(self) -> Received:
        self._file.close()
        try:
            agent_exec.run(
                [*self._docker_argv, "load", "-i", self._path], timeout=600, env=self._env
            )
        finally:
            self._remove_spool()
        missing = self._missing_after_load(self._expected)
        if missing:
            raise FailedPrecondition(
                f"docker load finished but these images are still missing: {', '.join(missing)}"
            )
        return Received()

    def abort(self) -> None:
        self._file.close()
        self._remove_spool()

    def _remove_spool(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)
