"""Prometheus metrics of the agent and the controller, served only when a listen address is set.

Metrics live in the process-wide default registry; the helpers below are what the rest of
the code calls, so metric names and labels are defined in this one place.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, start_http_server

BYTES_SENT = Counter(
    "stackferry_transfer_sent_bytes", "Stream bytes this agent sent to a peer or a caller", ["kind"]
)
BYTES_RECEIVED = Counter(
    "stackferry_transfer_received_bytes", "Stream bytes this agent received", ["kind"]
)
ACTIVE_STREAMS = Gauge(
    "stackferry_transfer_active_streams", "Send and receive streams in progress", ["direction"]
)
TRANSFERS = Counter(
    "stackferry_transfers", "Finished transfers by direction and outcome", ["direction", "outcome"]
)
MIGRATIONS = Gauge(
    "stackferry_migrations", "Migrations known to the controller, by state", ["state"]
)
STEP_SECONDS = Histogram(
    "stackferry_migration_step_seconds",
    "Duration of each migration step",
    ["step", "outcome"],
    # Steps range from a snapshot (sub-second) to a bulk copy of many GiB (hours).
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, float("inf")),
)


def start_metrics_server(address: str | None) -> tuple[WSGIServer, int] | None:
    """Serves /metrics on ``host:port`` (0 picks a port) from a daemon thread and returns the
    server and its port; with no address (metrics are opt-in) serves nothing."""
    if not address:
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"metrics_listen: expected HOST:PORT, got {address!r}")
    server, _thread = start_http_server(int(port), addr=host.strip("[]") or "0.0.0.0")
    return server, server.server_port


@contextmanager
def active_stream(direction: str) -> Iterator[None]:
    """Counts a stream as active while the block runs, then records its outcome."""
    ACTIVE_STREAMS.labels(direction).inc()
    outcome = "failed"
    try:
        yield
        outcome = "ok"
    finally:
        ACTIVE_STREAMS.labels(direction).dec()
        TRANSFERS.labels(direction, outcome).inc()


@contextmanager
def timed_step(step: str) -> Iterator[None]:
    """Observes the block's duration under ``step``, labelled ok or failed."""
    started = time.monotonic()
    outcome = "failed"
    try:
        yield
        outcome = "ok"
    finally:
        STEP_SECONDS.labels(step, outcome).observe(time.monotonic() - started)


def set_migrations_by_state(counts: Mapping[str, int]) -> None:
    """Replaces the per-state gauge with ``counts`` (states absent from it drop to zero)."""
    MIGRATIONS.clear()
    for state, count in counts.items():
        MIGRATIONS.labels(state).set(count)
