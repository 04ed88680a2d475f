"""One lock per compose project: deploy, stop, start and discard of one project run one at a
time on an agent, so a retried stop (its first call's deadline passed) waits for the first,
and a stop or discard that comes while a deploy is still running waits for that deploy
rather than leaving its containers to start after the stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ProjectLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.RLock] = {}

    @contextmanager
    def held(self, project: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(project, threading.RLock())
        with lock:
            yield
