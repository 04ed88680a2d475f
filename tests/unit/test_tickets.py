"""TicketBook: one-time, expiring, bound to the transfer it was issued for."""

from __future__ import annotations

import pytest

from stackferry.agent.errors import InvalidArgument, PermissionDenied
from stackferry.agent.tickets import TicketBook, TransferSpec

SPEC = TransferSpec(kind="zfs", target="dst/apps/web", base_guid="123", allow_overwrite=False)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_ticket_redeems_once_for_its_spec() -> None:
    book = TicketBook(default_ttl=60)
    ticket = book.issue(SPEC)
    assert book.redeem(ticket.ticket, SPEC) == SPEC
    with pytest.raises(PermissionDenied, match="already used"):
        book.redeem(ticket.ticket, SPEC)


def test_tickets_are_distinct_and_unguessable() -> None:
    book = TicketBook(default_ttl=60)
    tickets = {book.issue(SPEC).ticket for _ in range(50)}
    assert len(tickets) == 50
    assert all(len(t) >= 40 for t in tickets)


def test_missing_and_forged_tickets_are_refused() -> None:
    book = TicketBook(default_ttl=60)
    book.issue(SPEC)
    with pytest.raises(PermissionDenied, match="no transfer ticket"):
        book.redeem("", SPEC)
    with pytest.raises(PermissionDenied, match="unknown"):
        book.redeem("forged-ticket", SPEC)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "images"),
        ("target", "dst/apps/other"),
        ("base_guid", "999"),
        ("allow_overwrite", True),
        ("resume", True),
    ],
)
def test_a_mismatching_transfer_is_refused_and_burns_the_ticket(field: str, value: object) -> None:
    book = TicketBook(default_ttl=60)
    ticket = book.issue(SPEC)
    presented = TransferSpec(**{**SPEC.__dict__, field: value})
    with pytest.raises(PermissionDenied, match=field):
        book.redeem(ticket.ticket, presented)
    with pytest.raises(PermissionDenied, match="already used"):
        book.redeem(ticket.ticket, SPEC)


def test_an_expired_ticket_is_refused() -> None:
    clock = Clock()
    book = TicketBook(default_ttl=60, clock=clock)
    short = book.issue(SPEC, ttl=5)
    default = book.issue(SPEC)
    assert short.expires_at == 1005.0 and default.expires_at == 1060.0
    clock.now = 1005.0
    with pytest.raises(PermissionDenied, match="expired"):
        book.redeem(short.ticket, SPEC)
    assert book.redeem(default.ticket, SPEC) == SPEC


def test_expired_tickets_are_forgotten_when_new_ones_are_issued() -> None:
    clock = Clock()
    book = TicketBook(default_ttl=60, clock=clock)
    old = book.issue(SPEC, ttl=1)
    clock.now += 2
    book.issue(SPEC)
    with pytest.raises(PermissionDenied, match="unknown"):
        book.redeem(old.ticket, SPEC)


def test_bad_kind_or_ttl_is_invalid() -> None:
    book = TicketBook(default_ttl=60)
    with pytest.raises(InvalidArgument):
        book.issue(TransferSpec(kind="tape"))
    with pytest.raises(InvalidArgument):
        book.issue(SPEC, ttl=-1)
