"""controller/domain/mounts.py: every mount of the inventory gets a mover (or a reason), and
the file moves land below target_base or where --map sends them."""

from __future__ import annotations

from stackferry.controller.domain.model import (
    FileMove,
    MigrationOptions,
    MigrationSpec,
    Mover,
    PathMapping,
)
from stackferry.controller.domain.mounts import file_path_map, overlapping_targets, plan_mounts
from stackferry.hostapi import MountInfo


def spec(**options: object) -> MigrationSpec:
    return MigrationSpec(
        name="app",
        compose_path="/srv/app/docker-compose.yml",
        source_agent="a:1",
        target_agent="b:2",
        target_dataset="dst/stacks",
        target_base="/b",
        options=MigrationOptions(**options),  # type: ignore[arg-type]
    )


def bind(source: str, target: str, **facts: object) -> MountInfo:
    facts.setdefault("resolved_source", source)
    facts.setdefault("source_kind", "dir")
    return MountInfo("web", source, target, **facts)  # type: ignore[arg-type]


def volume(name: str, target: str, **facts: object) -> MountInfo:
    facts.setdefault("volume_mountpoint", f"/var/lib/docker/volumes/{name}/_data")
    facts.setdefault("volume_driver", "local")
    return MountInfo("db", name, target, type="volume", volume=name, **facts)  # type: ignore[arg-type]


ON_ZFS = bind(
    "/tank/app/html", "/www", on_zfs=True, dataset="tank/app", dataset_mountpoint="/tank/app"
)
DATASET_MAP = [PathMapping("/tank/app", "/b/app")]


def movers(mounts: list[MountInfo], **options: object) -> list[tuple[str, Mover, str]]:
    entries, _ = plan_mounts(mounts, spec(**options), DATASET_MAP)
    return [(e.source, e.mover, e.reason) for e in entries]


def test_each_kind_of_mount_gets_its_mover() -> None:
    mounts = [
        ON_ZFS,
        bind("/srv/plain", "/plain", size_bytes=5),
        volume("app_db", "/var/lib/db", volume_key="db", size_bytes=20),
        bind("/etc/localtime", "/etc/localtime", resolved_source="/usr/share/zoneinfo/UTC"),
        bind("/var/run/docker.sock", "/var/run/docker.sock", source_kind="other"),
        MountInfo("web", "", "/tmp", type="tmpfs"),
        bind("/srv/gone", "/gone", source_kind="missing"),
    ]
    assert [(source, mover) for source, mover, _ in movers(mounts)] == [
        ("bind /tank/app/html", Mover.ZFS),
        ("bind /srv/plain", Mover.FILES),
        ("volume app_db", Mover.FILES),
        ("bind /etc/localtime", Mover.LEFT_ALONE),
        ("bind /var/run/docker.sock", Mover.LEFT_ALONE),
        ("tmpfs", Mover.NOTHING),
        ("bind /srv/gone", Mover.NOTHING),
    ]


def test_a_link_out_of_the_roots_is_refused_naming_the_link_and_where_it_goes() -> None:
    link = bind("/srv/app/etclink", "/x", resolved_source="/etc", outside_roots=True)
    assert movers([link]) == [
        (
            "bind /srv/app/etclink",
            Mover.REFUSED,
            "/srv/app/etclink -> /etc is outside the source agent's allowed path roots",
        )
    ]


def test_shared_anonymous_and_foreign_volumes_are_refused_and_excludes_win() -> None:
    shared = volume("shared", "/s", volume_key="shared", external=True, shared_with=("other",))
    anonymous = volume("3f" * 32, "/scratch", anonymous=True)
    nfs = volume("remote", "/r", volume_driver="nfs-driver")
    found = movers([shared, anonymous, nfs])
    assert [mover for _, mover, _ in found] == [Mover.REFUSED] * 3
    assert "also used by other" in found[0][2]
    assert "anonymous volume" in found[1][0] and "--exclude db:/scratch" in found[1][2]
    assert "'nfs-driver' has no mover" in found[2][2]
    excluded = movers([shared, anonymous, nfs], excludes=("shared", "db:/scratch", "remote"))
    assert [mover for _, mover, _ in excluded] == [Mover.EXCLUDED] * 3
    assert movers([ON_ZFS], excludes=("/tank/app/html",))[0][1] is Mover.EXCLUDED


def test_a_mount_only_the_running_container_has_is_refused_unless_a_system_path() -> None:
    extra = bind("/srv/extra", "/extra", seen_in="container")
    clock = bind("/etc/localtime", "/etc/localtime", seen_in="container")
    found = movers([extra, clock])
    assert [mover for _, mover, _ in found] == [Mover.REFUSED, Mover.LEFT_ALONE]
    assert "the compose file does not" in found[0][2] and "--exclude web:/extra" in found[0][2]
    assert movers([extra], excludes=("web:/extra",))[0][1] is Mover.EXCLUDED


def test_volumes_that_mount_a_filesystem_of_their_own_are_not_copied() -> None:
    nfs = volume("share", "/s", volume_key="share", volume_options={"type": "nfs", "o": "addr=x"})
    scratch = volume("ram", "/r", volume_options={"type": "tmpfs", "device": "tmpfs"})
    never = MountInfo("db", "", "/anon", type="volume", anonymous=True)
    found = movers([nfs, scratch, never])
    assert [mover for _, mover, _ in found] == [Mover.REFUSED, Mover.NOTHING, Mover.NOTHING]
    assert "mounts a nfs filesystem" in found[0][2] and "--exclude share" in found[0][2]


def test_an_external_volume_of_this_stack_alone_moves_under_its_name() -> None:
    alone = volume("shared", "/s", volume_key="shared", external=True, volume_labels={"k": "v"})
    entries, moves = plan_mounts([alone], spec(), DATASET_MAP)
    assert entries[0].mover is Mover.FILES and entries[0].moves_to == "volume shared"
    assert moves == [
        FileMove(
            "volume shared",
            source_volume="shared",
            target_volume="shared",
            volume_driver="local",
            volume_labels={"k": "v"},
        )
    ]


def test_directories_land_below_target_base_and_a_map_wins() -> None:
    mounts = [
        bind("/srv/data/a", "/a", size_bytes=1),
        bind("/srv/data/a/inner", "/inner"),  # moves with /srv/data/a
        bind("/srv/data/b", "/b"),
        bind("/opt/c", "/c"),
        bind("/srv/link", "/l", resolved_source="/srv/data/b"),
    ]
    entries, moves = plan_mounts(mounts, spec(path_maps=(PathMapping("/opt/c", "/x/c"),)), [])
    assert [(m.source_path, m.target_path, m.written_path) for m in moves] == [
        ("/srv/data/a", "/b/a", ""),
        ("/srv/data/b", "/b/b", ""),
        ("/opt/c", "/x/c", ""),
    ]
    assert [e.moves_to for e in entries] == ["/b/a", "/b/a/inner", "/b/b", "/x/c", "/b/b"]
    assert file_path_map(moves)[0] == PathMapping("/srv/data/a", "/b/a")


def test_a_link_inside_the_roots_maps_the_written_path_too() -> None:
    _, moves = plan_mounts([bind("/srv/link", "/l", resolved_source="/srv/real")], spec(), [])
    assert file_path_map(moves) == [
        PathMapping("/srv/real", "/b/real"),
        PathMapping("/srv/link", "/b/real"),
    ]


def test_a_file_off_zfs_moves_with_its_directory() -> None:
    conf = bind("/srv/app/nginx.conf", "/etc/nginx.conf", source_kind="file")
    entries, moves = plan_mounts([conf, bind("/srv/app/data", "/data")], spec(), [])
    assert [(m.source_path, m.target_path) for m in moves] == [("/srv/app", "/b/app")]
    assert [e.moves_to for e in entries] == ["/b/app/nginx.conf", "/b/app/data"]
    assert entries[0].reason == "a file off ZFS: moved with its directory /srv/app"


def test_overlapping_targets_are_found() -> None:
    moves = [FileMove("/srv/app", source_path="/srv/app", target_path="/b/app")]
    assert overlapping_targets(moves, ["/b/app"]) == ["/b/app and /b/app"]
    assert overlapping_targets(moves, ["/b/other"]) == []
    assert overlapping_targets([], ["/b/app", "/b/app/db"]) == []  # a child dataset is fine
