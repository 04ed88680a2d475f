"""One-time transfer tickets: the target agent hands one out per expected transfer.

The controller asks the target (PrepareReceive) to expect a transfer; the target records
what was agreed (a TransferSpec) under a random ticket. ReceiveStream must present that
ticket with the same kind, target and options, before it expires, and only once: a ticket
is consumed by its first presentation, even a mismatching one, so it can never be replayed.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from stackferry.agent.errors import InvalidArgument, PermissionDenied

KINDS = ("zfs", "images", "files")


@dataclass(frozen=True)
class TransferSpec:
    """What a ticket allows. ``images`` is recorded but not compared: the stream header
    does not repeat it (docker load takes whatever images the stream holds)."""

    kind: str  # "zfs" or "images"
    target: str = ""  # the dataset the stream becomes ("" for images)
    base_guid: str = ""  # incremental: the base snapshot's guid, else ""
    allow_overwrite: bool = False
    images: tuple[str, ...] = ()
    resume: bool = False  # continues the target's partial receive (OpenZFS send -t)
    # Not compared: the stream header does not repeat it; the ticket is what carries it.
    migration_id: str = ""

    def mismatch(self, other: TransferSpec) -> str | None:
        """A person-readable reason why ``other`` is not this spec, or None."""
        for name in ("kind", "target", "base_guid", "allow_overwrite", "resume"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                return f"{name} is {theirs!r} but the ticket was issued for {mine!r}"
        return None


@dataclass(frozen=True)
class Ticket:
    ticket: str
    spec: TransferSpec
    expires_at: float  # in the TicketBook's clock (wall time by default)


class TicketBook:
    def __init__(self, default_ttl: int, clock: Callable[[], float] = time.time) -> None:
        self.default_ttl = default_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._open: dict[str, Ticket] = {}

    def issue(self, spec: TransferSpec, ttl: int = 0) -> Ticket:
        """A fresh ticket for one transfer matching ``spec``; ttl 0 means the default."""
        if spec.kind not in KINDS:
            raise InvalidArgument(f"unknown stream kind {spec.kind!r}")
        if ttl < 0:
            raise InvalidArgument(f"ttl_seconds must not be negative, got {ttl}")
        now = self._clock()
        ticket = Ticket(secrets.token_urlsafe(32), spec, now + (ttl or self.default_ttl))
        with self._lock:
            self._open = {k: t for k, t in self._open.items() if t.expires_at > now}
            self._open[ticket.ticket] = ticket
        return ticket

    def redeem(self, ticket: str, presented: TransferSpec) -> TransferSpec:
        """Consumes the ticket; raises PermissionDenied unless it is open, unexpired and
        issued for ``presented``. Returns the spec it was issued for."""
        if not ticket:
            raise PermissionDenied("no transfer ticket: ask the target agent (PrepareReceive)")
        with self._lock:
            found = self._open.pop(ticket, None)
        if found is None:
            raise PermissionDenied("unknown or already used transfer ticket")
        if found.expires_at <= self._clock():
            raise PermissionDenied("the transfer ticket has expired")
        reason = found.spec.mismatch(presented)
        if reason:
            raise PermissionDenied(f"the transfer does not match its ticket: {reason}")
        return found.spec
