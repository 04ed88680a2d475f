"""zfs command lines, usage-text feature detection, -nvP parsing and stderr classification.

The OpenZFS texts below are copied from OpenZFS 2.1's `zfs send` / `zfs receive` usage and
`zfs send -nvP` output: zfs-fuse cannot produce them, so these paths are tested here.
"""

from __future__ import annotations

import pytest

from stackferry.agent import errors
from stackferry.agent.storage import zfs_argv as argv
from stackferry.agent.storage.zfs_errors import classify, zfs_error
from stackferry.agent.storage.zfs_parse import (
    ZfsFeatures,
    parse_estimate,
    parse_features,
    parse_pool_version,
    parse_properties,
    parse_resume_toname,
)

ZFS_FUSE_SEND = "missing snapshot argument\nusage:\n\tsend [-RDp] [-[iI] snapshot] <snapshot>\n"
ZFS_FUSE_RECEIVE = (
    "usage:\n\treceive [-vnF] <filesystem|volume|snapshot>\n\treceive [-vnF] -d <filesystem>\n"
)
ZFS_FUSE_SNAPSHOT = (
    "usage:\n\tsnapshot [-r] [-o property=value] ... <filesystem@snapname|volume@snapname>\n"
)
ZFS_FUSE_HOLD = "usage:\n\thold [-r] <tag> <snapshot> ...\n"

OPENZFS_SEND = """missing snapshot argument
usage:
\tsend [-DLPbcehnpsvw] [-i|-I snapshot]
\t     [-R [-X dataset[,dataset]...]]     <snapshot>
\tsend [-DnVvPLecw] [-i snapshot|bookmark] <filesystem|volume|snapshot>
\tsend [-DnPpVvLec] [-i bookmark|snapshot] --redact <bookmark> <snapshot>
\tsend [-nVvPe] -t <receive_resume_token>
\tsend [-PnVv] --saved filesystem
"""
OPENZFS_RECEIVE = """usage:
\treceive [-FhMnsuv] [-o <property>=<value>] ... [-x <property>] ...
\t    <filesystem|volume|snapshot>
\treceive [-FhMnsuv] [-d | -e] [-o <property>=<value>] ... [-x <property>] ...
\t    <filesystem>
\treceive -A <filesystem|volume>
"""
OPENZFS_SNAPSHOT = (
    "usage:\n\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...\n"
)
OPENZFS_ESTIMATE = """full\ttank/app@s2\t1097216
size\t1097216
"""
OPENZFS_ESTIMATE_INCREMENTAL = """incremental\ts1\ttank/app@s2\t52304
size\t52304
"""


def test_zfs_fuse_usage_has_no_openzfs_features_but_holds() -> None:
    features = parse_features(ZFS_FUSE_SEND, ZFS_FUSE_RECEIVE, ZFS_FUSE_SNAPSHOT, ZFS_FUSE_HOLD)
    assert features == ZfsFeatures(holds=True)


def test_openzfs_usage_has_every_feature() -> None:
    features = parse_features(OPENZFS_SEND, OPENZFS_RECEIVE, OPENZFS_SNAPSHOT, ZFS_FUSE_HOLD)
    assert features.as_dict() == {
        "send_estimate": True,
        "resume": True,
        "compressed": True,
        "raw": True,
        "receive_unmounted": True,
        "holds": True,
        "multi_snapshot": True,
    }


def test_unknown_hold_command_means_no_holds() -> None:
    unrecognized = "unrecognized command 'hold'\nusage: zfs command args ...\n\tcreate [-p] <fs>\n"
    features = parse_features(ZFS_FUSE_SEND, ZFS_FUSE_RECEIVE, ZFS_FUSE_SNAPSHOT, unrecognized)
    assert not features.holds


@pytest.mark.parametrize(
    ("output", "size"),
    [(OPENZFS_ESTIMATE, 1097216), (OPENZFS_ESTIMATE_INCREMENTAL, 52304), ("nothing\n", None)],
)
def test_estimate_reads_the_size_line(output: str, size: int | None) -> None:
    assert parse_estimate(output) == size


def test_properties_rows_group_by_name() -> None:
    out = "p/a\tguid\t12\np/a\tused\t4096\np/a@s\tguid\t13\n"
    assert parse_properties(out) == {"p/a": {"guid": "12", "used": "4096"}, "p/a@s": {"guid": "13"}}


def test_pool_version_from_zpool_upgrade() -> None:
    text = "This system is currently running ZFS pool version 23.\n"
    assert parse_pool_version(text) == "pool version 23"


def test_snapshot_create_is_one_call_for_several_names() -> None:
    assert argv.snapshot_create("zfs", ["p/a@s1", "p/b@s1"], recursive=False) == [
        "zfs",
        "snapshot",
        "p/a@s1",
        "p/b@s1",
    ]
    assert argv.snapshot_create("/sbin/zfs", ["p/a@s1"], recursive=True) == [
        "/sbin/zfs",
        "snapshot",
        "-r",
        "p/a@s1",
    ]


def test_send_full_incremental_and_openzfs_flags() -> None:
    assert argv.send("zfs", "p/a@s2") == ["zfs", "send", "p/a@s2"]
    assert argv.send("zfs", "p/a@s2", "@s1") == ["zfs", "send", "-i", "@s1", "p/a@s2"]
    assert argv.send("zfs", "p/a@s2", "p/a@s1", compressed=True, raw=True) == [
        "zfs",
        "send",
        "-c",
        "-w",
        "-i",
        "p/a@s1",
        "p/a@s2",
    ]


def test_send_refuses_a_base_of_another_dataset() -> None:
    with pytest.raises(errors.InvalidArgument):
        argv.send("zfs", "p/a@s2", "p/b@s1")


def test_resume_and_estimate_builders() -> None:
    token = "1-f3a1c2d-c8-789c636064000310a500c4ec50360710e72765a5269740d80cd8e4d3d28a534b18"
    assert argv.send_resume("zfs", token) == ["zfs", "send", "-t", token]
    assert argv.send_estimate("zfs", "p/a@s2", "@s1") == [
        "zfs",
        "send",
        "-nvP",
        "-i",
        "@s1",
        "p/a@s2",
    ]
    with pytest.raises(errors.InvalidArgument):
        argv.send_resume("zfs", "-o x")
    assert argv.send_estimate_resume("zfs", token) == ["zfs", "send", "-nvP", "-t", token]
    assert argv.receive_abort("zfs", "p/a") == ["zfs", "receive", "-A", "p/a"]
    with pytest.raises(errors.InvalidArgument):
        argv.send_estimate_resume("zfs", "--x")
    with pytest.raises(errors.InvalidArgument):
        argv.receive_abort("zfs", "-p/a")


def test_resume_token_contents_name_the_snapshot() -> None:
    output = (
        "resume token contents:\nnvlist version: 0\n\tobject = 0x2\n\toffset = 0x40000\n"
        "\tbytes = 0x42b98\n\ttoguid = 0x6c5e0ba4b1d2c1\n\ttoname = tank/apps/web@sf-1\n"
        "full\ttank/apps/web@sf-1\t1042\nsize\t1042\n"
    )
    assert parse_resume_toname(output) == "tank/apps/web@sf-1"
    assert parse_estimate(output) == 1042
    assert parse_resume_toname("size\t1042\n") == ""


def test_receive_flags_only_when_asked() -> None:
    assert argv.receive("zfs", "p/apps/a") == ["zfs", "receive", "p/apps/a"]
    assert argv.receive("zfs", "p/apps/a", force=True, unmounted=True, resumable=True) == [
        "zfs",
        "receive",
        "-F",
        "-u",
        "-s",
        "p/apps/a",
    ]


def test_get_properties_scope() -> None:
    base = ["zfs", "get", "-Hp"]
    tail = ["-o", "name,property,value", "guid,used", "p/a"]
    assert argv.get_properties("zfs", ["p/a"], ["guid", "used"], None) == [*base, *tail]
    assert argv.get_properties("zfs", ["p/a"], ["guid", "used"], -1) == [*base, "-r", *tail]
    assert argv.get_properties("zfs", ["p/a"], ["guid", "used"], 1) == [*base, "-d", "1", *tail]


def test_set_properties_one_call_each() -> None:
    assert argv.set_properties("zfs", "p/a", {"mountpoint": "/srv/a", "canmount": "on"}) == [
        ["zfs", "set", "mountpoint=/srv/a", "p/a"],
        ["zfs", "set", "canmount=on", "p/a"],
    ]


@pytest.mark.parametrize("bad", ["-o", "a;b", "x@@y", "..", "p/../q", "", "p/a b", "/p/a"])
def test_hostile_names_never_reach_an_argv(bad: str) -> None:
    with pytest.raises(errors.InvalidArgument):
        argv.receive("zfs", bad)
    with pytest.raises(errors.InvalidArgument):
        argv.send("zfs", f"{bad}@s1")


@pytest.mark.parametrize("bad", ["-r", "a b", "", "x;y"])
def test_hostile_hold_tags_and_properties_refused(bad: str) -> None:
    with pytest.raises(errors.InvalidArgument):
        argv.hold("zfs", bad, ["p/a@s"], recursive=False)
    with pytest.raises(errors.InvalidArgument):
        argv.set_property("zfs", "p/a", bad, "x")


@pytest.mark.parametrize(
    ("stderr", "cls"),
    [
        ("cannot open 'p/x': dataset does not exist", errors.NotFound),
        ("cannot receive: out of space", errors.ResourceExhausted),
        (
            "cannot receive new filesystem stream: destination 'p/a' exists\n"
            "must specify -F to overwrite it",
            errors.AlreadyExists,
        ),
        (
            "cannot receive incremental stream: destination p/a has been modified\n"
            "since most recent snapshot",
            errors.FailedPrecondition,
        ),
        (
            "cannot receive incremental stream: most recent snapshot of p/a does not\n"
            "match incremental source",
            errors.FailedPrecondition,
        ),
        ("cannot destroy 'p/a@s1': dataset is busy", errors.FailedPrecondition),
        ("internal error: /usr/lib/zfs/pyzfs.py not found", errors.FailedPrecondition),
    ],
)
def test_stderr_becomes_a_typed_error(stderr: str, cls: type[errors.AgentError]) -> None:
    assert classify(stderr) is cls
    typed = zfs_error(errors.CommandFailed(["zfs", "x"], 1, stderr), "zfs x")
    assert type(typed) is cls
    assert stderr.splitlines()[0] in str(typed)


def test_unknown_stderr_stays_command_failed() -> None:
    failed = errors.CommandFailed(["zfs", "x"], 1, "something new")
    assert zfs_error(failed) is failed
