"""Prometheus metrics: served only when asked for, with the names docs/configuration.md lists."""

from __future__ import annotations

import os
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import xxhash
from conftest import AgentProcess, free_port

from stackferry.agent.storage.directory import DirectoryBackend
from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc
from stackferry.common import metrics

Scrape = Callable[[], str]


@pytest.fixture
def scrape() -> Iterator[Scrape]:
    started = metrics.start_metrics_server("127.0.0.1:0")
    assert started is not None
    server, port = started

    def read() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            return reply.read().decode()

    yield read
    server.shutdown()
    server.server_close()


def value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0


def test_no_address_serves_nothing() -> None:
    assert metrics.start_metrics_server(None) is None
    assert metrics.start_metrics_server("") is None


def test_a_bad_address_names_the_key() -> None:
    with pytest.raises(ValueError, match="metrics_listen"):
        metrics.start_metrics_server("localhost")


def test_step_durations_and_migrations_by_state(scrape: Scrape) -> None:
    count = 'stackferry_migration_step_seconds_count{outcome="ok",step="bulk_copy"}'
    before = value(scrape(), count)
    with metrics.timed_step("bulk_copy"):
        pass
    metrics.set_migrations_by_state({"copying": 2, "failed": 1})
    metrics.set_migrations_by_state({"copying": 1})
    text = scrape()
    assert value(text, count) == before + 1
    assert value(text, 'stackferry_migrations{state="copying"}') == 1
    assert 'stackferry_migrations{state="failed"}' not in text


def test_every_metric_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"^\| `(stackferry_[a-z_]+)` \|", docs, flags=re.MULTILINE))
    exposed = set()
    for metric in (
        metrics.BYTES_SENT,
        metrics.BYTES_RECEIVED,
        metrics.ACTIVE_STREAMS,
        metrics.TRANSFERS,
        metrics.MIGRATIONS,
        metrics.STEP_SECONDS,
    ):
        for family in metric.collect():
            suffix = "_total" if family.type == "counter" else ""
            exposed.add(family.name + suffix)
    assert documented == exposed


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def metered_agent(
    start_agent: Callable[..., AgentProcess], tmp_path: Path
) -> Iterator[tuple[agent_pb2_grpc.AgentStub, Scrape]]:
    """A directory-backend agent serving /metrics, with a snapshot src/app@s1 of 1 MiB."""
    port = free_port()
    state = tmp_path / "state"
    agent = start_agent(
        "--insecure",
        "--storage-backend",
        "directory",
        "--state-dir",
        str(state),
        "--allowed-dataset-root",
        "src",
        "--allowed-dataset-root",
        "dst",
        "--metrics-listen",
        f"127.0.0.1:{port}",
    )
    backend = DirectoryBackend(state / "directory")
    backend.dataset_dir("src/app").mkdir(parents=True)
    (backend.dataset_dir("src/app") / "blob.bin").write_bytes(os.urandom(1 << 20))
    backend.create_snapshot(["src/app"], "s1", recursive=False)

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            return reply.read().decode()

    with grpc.insecure_channel(agent.address) as channel:
        yield agent_pb2_grpc.AgentStub(channel), scrape


def receive(stub: agent_pb2_grpc.AgentStub, dataset: str, raw: bytes) -> None:
    """The stream ``raw`` into ``dataset`` under a fresh ticket, with its true trailer."""
    prepare = agent_pb2.PrepareReceiveRequest(kind=agent_pb2.STREAM_ZFS, target_dataset=dataset)
    ticket = stub.PrepareReceive(prepare, timeout=10).ticket
    header = agent_pb2.ReceiveHeader(
        kind=agent_pb2.STREAM_ZFS, ticket=ticket, target_dataset=dataset
    )
    trailer = agent_pb2.ReceiveTrailer(
        bytes=len(raw), checksum="xxh3-128:" + xxhash.xxh3_128(raw).hexdigest()
    )
    messages = [
        agent_pb2.ReceiveMessage(header=header),
        agent_pb2.ReceiveMessage(chunk=raw),
        agent_pb2.ReceiveMessage(trailer=trailer),
    ]
    stub.ReceiveStream(iter(messages), timeout=60)


def test_an_agent_counts_the_streams_it_really_serves(
    metered_agent: tuple[agent_pb2_grpc.AgentStub, Scrape],
) -> None:
    """Real streams read back from the agent's /metrics: a send to the caller, the same bytes
    received back under a ticket, and a send the caller cuts off."""
    stub, scrape = metered_agent
    sent, received = (
        f'stackferry_transfer_{way}_bytes_total{{kind="zfs"}}' for way in ("sent", "received")
    )
    send_ok = 'stackferry_transfers_total{direction="send",outcome="ok"}'
    send_failed = 'stackferry_transfers_total{direction="send",outcome="failed"}'
    receive_ok = 'stackferry_transfers_total{direction="receive",outcome="ok"}'
    sending = 'stackferry_transfer_active_streams{direction="send"}'
    before = scrape()

    def grown(sample: str, by: float) -> Callable[[], bool]:
        return lambda: value(scrape(), sample) == value(before, sample) + by

    request = agent_pb2.SendRequest(kind=agent_pb2.STREAM_ZFS, snapshot="src/app@s1")
    raw = b"".join(event.chunk for event in stub.SendStream(request, timeout=60))
    assert value(scrape(), sent) == value(before, sent) + len(raw)
    # The stream is counted when its generator ends, just after the caller has the last event.
    wait_for("the send counted", grown(send_ok, 1))

    receive(stub, "dst/app", raw)
    after = scrape()
    assert value(after, received) == value(before, received) + len(raw)
    assert value(after, receive_ok) == value(before, receive_ok) + 1

    # 1 MiB at 256 KiB/s runs for seconds: it is still open when its first chunk arrives.
    limited = agent_pb2.SendRequest(
        kind=agent_pb2.STREAM_ZFS, snapshot="src/app@s1", bandwidth_limit_bytes_per_second=1 << 18
    )
    call = stub.SendStream(limited, timeout=60)
    next(call)
    assert value(scrape(), sending) == value(before, sending) + 1
    call.cancel()
    wait_for("the cut send counted as failed", grown(send_failed, 1))
    assert value(scrape(), sending) == value(before, sending)
