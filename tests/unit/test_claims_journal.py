"""The agent's claims and journal as files in a state dir: which resources overlap, expiry
(on a clock handed in), and that both survive being read back by a new process."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackferry.agent.claims import ClaimBook, Wanted
from stackferry.agent.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from stackferry.agent.journal import Created, Journal
from stackferry.hostapi import Claim


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


HELD = Wanted(
    projects=("shop",),
    compose_paths=("/srv/shop/docker-compose.yml",),
    datasets=("tank/apps/shop",),
    paths=("/srv/shop",),
    volumes=("shop_db",),
)


@pytest.fixture
def book(tmp_path: Path) -> tuple[ClaimBook, Clock]:
    clock = Clock()
    book = ClaimBook(tmp_path, clock=clock)
    book.claim("m-one", Claim("target", "shop", ttl_seconds=60), HELD)
    return book, clock


@pytest.mark.parametrize(
    "wanted",
    [
        Wanted(projects=("shop",)),
        Wanted(compose_paths=("/srv/shop/docker-compose.yml",)),
        Wanted(datasets=("tank/apps/shop",)),
        Wanted(datasets=("tank/apps/shop/db",)),  # below a claimed dataset
        Wanted(datasets=("tank/apps",)),  # above one
        Wanted(paths=("/srv/shop/data",)),
        Wanted(paths=("/srv",)),
        Wanted(volumes=("shop_db",)),
    ],
)
def test_what_overlaps_a_claim_is_refused_naming_the_holder(
    book: tuple[ClaimBook, Clock], wanted: Wanted
) -> None:
    claims, _ = book
    with pytest.raises(AlreadyExists, match=r"migration m-one \(target, claimed until"):
        claims.check("m-two", wanted)
    claims.check("m-one", wanted)  # the holder itself


@pytest.mark.parametrize(
    "wanted",
    [
        Wanted(projects=("shop2",)),
        Wanted(datasets=("tank/apps/shopping",)),  # a prefix of the name, not a child
        Wanted(paths=("/srv/shop2",)),
        Wanted(volumes=("shop_cache",)),
    ],
)
def test_what_does_not_overlap_is_free(book: tuple[ClaimBook, Clock], wanted: Wanted) -> None:
    claims, _ = book
    claims.check("m-two", wanted)


def test_a_claim_expires_renews_and_is_released(book: tuple[ClaimBook, Clock]) -> None:
    claims, clock = book
    clock.now += 50
    renewed = claims.claim("m-one", Claim("target", "shop", ttl_seconds=60), HELD)
    assert renewed.expires_unix == int(clock.now) + 60
    clock.now += 59
    with pytest.raises(AlreadyExists):
        claims.check("m-two", HELD)
    clock.now += 2
    claims.check("m-two", HELD)
    claims.claim("m-two", Claim("source", "shop"), HELD)
    assert claims.release("m-two") and not claims.release("m-two")
    claims.check("m-three", HELD)


def test_claims_are_read_back_from_the_state_dir(
    book: tuple[ClaimBook, Clock], tmp_path: Path
) -> None:
    _, clock = book
    again = ClaimBook(tmp_path, clock=clock)
    with pytest.raises(AlreadyExists, match="m-one"):
        again.check("m-two", Wanted(datasets=("tank/apps/shop",)))
    (tmp_path / "claims.json").write_text("{not json")
    with pytest.raises(FailedPrecondition, match="unreadable"):
        ClaimBook(tmp_path)


def test_a_claim_needs_an_id_a_role_and_a_sane_ttl(tmp_path: Path) -> None:
    claims = ClaimBook(tmp_path)
    for migration_id, claim in (
        ("", Claim("source", "shop")),
        ("m 1", Claim("source", "shop")),
        ("m-1", Claim("owner", "shop")),
        ("m-1", Claim("source", "shop", ttl_seconds=-1)),
    ):
        with pytest.raises(InvalidArgument):
            claims.claim(migration_id, claim, Wanted(projects=("shop",)))


def test_the_journal_is_read_back_and_refuses_to_guess(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.record_created("m-1", "dataset", "tank/apps/shop")
    journal.record_created("m-1", "dir", "/srv/shop")
    journal.record_created("m-1", "dir", "/srv/shop")  # once is enough
    journal.record_created("", "dir", "/srv/other")  # outside a migration: nothing to own
    journal.deploy_started("m-1", "shop", "/srv/shop/docker-compose.yml", "services: {}\n")

    again = Journal(tmp_path)
    assert again.created_by("m-1") == [
        Created("dataset", "tank/apps/shop"),
        Created("dir", "/srv/shop"),
    ]
    assert [d.migration_id for d in again.uncommitted_deploys()] == ["m-1"]
    again.set_deploy_state("m-1", "committed")
    assert Journal(tmp_path).uncommitted_deploys() == []
    with pytest.raises(InvalidArgument):
        again.record_created("m-1", "symlink", "/srv/x")

    (tmp_path / "journal.json").write_text('{"deploys": {"m-1": {"project": 1}}}')
    with pytest.raises(FailedPrecondition, match="unreadable"):
        Journal(tmp_path)
