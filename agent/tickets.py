"""One-time transfer tickets: the target agent hands one out per expected transfer."""

from __future__ import annotations


class TicketBook:
    def __init__(self, default_ttl: int) -> None:
        self.default_ttl = default_ttl
