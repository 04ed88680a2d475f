"""Receive tickets asked of the target ahead of their stream: the final phase's, prepared
while the app still runs (steps/final_tickets.py), taken by the sends after the stop.

In this controller's memory only, for the migration it drives: tickets are one-time secrets
the target agent keeps until their TTL, and one not taken (a controller that restarted, a
migration that ended before its final phase) only expires there. A ticket is handed out
until a margin before its TTL; after that, or when none is held, the send asks for a fresh
one, as it would without any prepared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from stackferry.controller.domain.model import FileMove, Migration

Key = tuple[str, ...]
MARGIN_SECONDS = 60  # a ticket is not handed out in its last minute


def zfs_key(m: Migration, target_dataset: str, base_guid: str) -> Key:
    """A zfs stream's ticket: for its dataset, from its base (the spec the target checks)."""
    return ("zfs", m.id, target_dataset, base_guid)


def files_key(m: Migration, move: FileMove) -> Key:
    """A file pass's ticket: for its target tree, with the overwrite the spec allows."""
    tree = f"volume {move.target_volume}" if move.target_volume else move.target_path
    return ("files", m.id, tree, str(m.spec.options.allow_overwrite))


class PreparedTickets:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[Key, tuple[str, float]] = {}

    def put(self, key: Key, ticket: str, ttl: int) -> None:
        """Holds `ticket`, issued now for `ttl` seconds, for the stream `key` names."""
        with self._lock:
            self._held[key] = (ticket, self._clock() + ttl - MARGIN_SECONDS)

    def take(self, key: Key) -> str:
        """The ticket held for `key`, once ("" when none is, or it is about to expire)."""
        with self._lock:
            ticket, good_until = self._held.pop(key, ("", 0.0))
        return ticket if self._clock() < good_until else ""

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)
