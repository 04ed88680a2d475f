"""The DockerRuntime against the real engines: what it reports, and its image stream ends
(`docker save` source, spooled `docker load` sink) used by STREAM_IMAGES transfers."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackferry.agent.errors import CommandFailed, FailedPrecondition, InvalidArgument, NotFound
from stackferry.agent.runtime.docker_runtime import DockerRuntime


@pytest.fixture
def runtimes(docker_hosts: tuple[str, str], tmp_path: Path) -> tuple[DockerRuntime, DockerRuntime]:
    return (
        DockerRuntime(docker_hosts[0], str(tmp_path / "spool-a")),
        DockerRuntime(docker_hosts[1], str(tmp_path / "spool-b")),
    )


@pytest.fixture
def image_only_on_a(docker_hosts: tuple[str, str]) -> Iterator[str]:
    name = f"local/sfimg-{uuid.uuid4().hex[:8]}:1"
    subprocess.run(["docker", "-H", docker_hosts[0], "tag", "local/busybox:1", name], check=True)
    yield name
    for host in docker_hosts:
        subprocess.run(["docker", "-H", host, "rmi", name], capture_output=True)


def copy(source: object, sink: object, limit: int | None = None) -> int:
    """Moves bytes the way the transfer pump does (readinto a reused buffer, then write)."""
    buf, done = bytearray(1 << 20), 0
    view = memoryview(buf)
    while limit is None or done < limit:
        n = source.readinto(view)  # type: ignore[attr-defined]
        if not n:
            break
        sink.write(view[:n])  # type: ignore[attr-defined]
        done += n
    return done


def test_info_reports_engine_and_compose_variant(
    runtimes: tuple[DockerRuntime, DockerRuntime],
) -> None:
    info = runtimes[1].info()
    assert info["docker_version"]
    assert info["compose_variant"] in ("docker compose", "docker-compose")
    assert info["compose_version"]


def test_image_saved_on_a_is_loaded_on_b(
    runtimes: tuple[DockerRuntime, DockerRuntime], image_only_on_a: str, tmp_path: Path
) -> None:
    a, b = runtimes
    assert b.missing_images([image_only_on_a, "local/busybox:1"]) == [image_only_on_a]
    source, sink = a.open_image_save([image_only_on_a]), b.open_image_load([image_only_on_a])
    assert copy(source, sink) > 1_000_000
    source.finish()
    sink.commit()
    assert b.missing_images([image_only_on_a]) == []
    assert list((tmp_path / "spool-b").iterdir()) == []


def test_aborted_or_corrupt_load_leaves_nothing(
    runtimes: tuple[DockerRuntime, DockerRuntime], image_only_on_a: str, tmp_path: Path
) -> None:
    a, b = runtimes
    source, sink = a.open_image_save([image_only_on_a]), b.open_image_load([image_only_on_a])
    copy(source, sink, limit=1 << 20)
    source.abort()
    sink.abort()
    sink.abort()  # safe twice
    assert b.missing_images([image_only_on_a]) == [image_only_on_a]
    assert list((tmp_path / "spool-b").iterdir()) == []

    corrupt = b.open_image_load([image_only_on_a])
    corrupt.write(b"this is not a tar stream" * 100)
    with pytest.raises(CommandFailed, match="docker load"):
        corrupt.commit()
    assert b.missing_images([image_only_on_a]) == [image_only_on_a]
    assert list((tmp_path / "spool-b").iterdir()) == []


def test_load_checks_the_expected_images_arrived(
    runtimes: tuple[DockerRuntime, DockerRuntime], image_only_on_a: str
) -> None:
    a, b = runtimes
    source = a.open_image_save(["local/busybox:1"])
    sink = b.open_image_load([image_only_on_a])
    copy(source, sink)
    source.finish()
    with pytest.raises(FailedPrecondition, match=image_only_on_a):
        sink.commit()


def test_save_refuses_missing_and_malformed_images(
    runtimes: tuple[DockerRuntime, DockerRuntime],
) -> None:
    with pytest.raises(NotFound, match="local/never-built:1"):
        runtimes[0].open_image_save(["local/never-built:1"])
    with pytest.raises(InvalidArgument, match="invalid image name"):
        runtimes[0].open_image_save(["--output=/etc/passwd"])
