"""compose/mounts.py: every mount of every service (bind, named, anonymous, tmpfs) and the
top-level volumes under the names the engine gives them."""

from __future__ import annotations

import pytest

from stackferry.compose import ComposeError, load_compose
from stackferry.compose.mounts import ServiceMount, VolumeSpec

COMPOSE = """
services:
  db:
    image: local/busybox:1
    tmpfs: /run
    volumes:
      - dbdata:/var/lib/db
      - ./conf:/conf:ro
      - /scratch
      - shared:/shared
      - type: volume
        source: named
        target: /named
        read_only: true
      - type: tmpfs
        target: /tmp
      - type: volume
        target: /anon-long
volumes:
  dbdata:
    labels: [tier=db]
  named:
    name: explicit-${SUFFIX:-x}
    driver: local
    driver_opts: {type: none, o: bind, device: ./named-dir}
  shared:
    external: true
  old:
    external: {name: legacy}
"""


def test_every_mount_of_a_service_is_listed_with_its_type() -> None:
    compose = load_compose(COMPOSE, "", "/srv/app", "app")
    assert compose.mounts == [
        ServiceMount("db", "volume", "dbdata", "/var/lib/db", False, "services.db.volumes[0]"),
        ServiceMount("db", "bind", "/srv/app/conf", "/conf", True, "services.db.volumes[1]"),
        ServiceMount("db", "volume", "", "/scratch", False, "services.db.volumes[2]"),
        ServiceMount("db", "volume", "shared", "/shared", False, "services.db.volumes[3]"),
        ServiceMount("db", "volume", "named", "/named", True, "services.db.volumes[4]"),
        ServiceMount("db", "tmpfs", "", "/tmp", False, "services.db.volumes[5]"),
        ServiceMount("db", "volume", "", "/anon-long", False, "services.db.volumes[6]"),
        ServiceMount("db", "tmpfs", "", "/run", False, "services.db.tmpfs"),
    ]


def test_top_level_volumes_carry_the_engine_name_driver_and_device() -> None:
    compose = load_compose(COMPOSE, "SUFFIX=y\n", "/srv/app", "app")
    assert compose.volumes == (
        VolumeSpec("dbdata", "app_dbdata", labels=(("tier", "db"),)),
        VolumeSpec(
            "named",
            "explicit-y",
            "local",
            (("device", "./named-dir"), ("o", "bind"), ("type", "none")),
            device="/srv/app/named-dir",
        ),
        VolumeSpec("shared", "shared", external=True),
        VolumeSpec("old", "legacy", external=True),
    )
    assert compose.volume("shared") == VolumeSpec("shared", "shared", external=True)
    assert compose.volume("missing") is None


def test_an_unknown_mount_type_is_kept_for_the_planner_to_refuse() -> None:
    text = "services:\n  a:\n    volumes:\n      - {type: cluster, source: x, target: /x}\n"
    assert load_compose(text, "", "/p").mounts == [
        ServiceMount("a", "cluster", "x", "/x", False, "services.a.volumes[0]")
    ]


def test_a_bind_mount_without_source_is_refused_by_location() -> None:
    text = "services:\n  a:\n    volumes:\n      - {type: bind, target: /x}\n"
    with pytest.raises(ComposeError, match=r"services.a.volumes\[0\] is a bind mount without"):
        load_compose(text, "", "/p")
