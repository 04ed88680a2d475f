"""Prometheus metrics: served only when asked for, with the names docs/configuration.md lists."""

from __future__ import annotations

import re
import socket
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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


def test_bytes_and_streams_are_counted(scrape: Scrape) -> None:
    sent = 'stackferry_transfer_sent_bytes_total{kind="zfs"}'
    active = 'stackferry_transfer_active_streams{direction="receive"}'
    failed = 'stackferry_transfers_total{direction="receive",outcome="failed"}'
    before = scrape()
    metrics.BYTES_SENT.labels("zfs").inc(1 << 20)
    with pytest.raises(RuntimeError), metrics.active_stream("receive"):
        assert value(scrape(), active) == value(before, active) + 1
        raise RuntimeError("the sender failed")
    after = scrape()
    assert value(after, sent) == value(before, sent) + (1 << 20)
    assert value(after, active) == value(before, active)
    assert value(after, failed) == value(before, failed) + 1


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


def test_an_agent_with_metrics_listen_serves_them(
    start_agent: Callable[..., object], tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a free port (metrics_listen has no ready file of its own)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start_agent(
        "--insecure",
        "--storage-backend",
        "directory",
        "--metrics-listen",
        f"127.0.0.1:{port}",
        "--allowed-path-root",
        str(tmp_path),
    )
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        assert "stackferry_transfer_active_streams" in reply.read().decode()
