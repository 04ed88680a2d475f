"""Channel and server options used by every stackferry gRPC endpoint.

Bulk data moves as ~1 MiB messages (docs/performance.md: 64 KiB halves throughput),
so message size limits are lifted on both sides, and each endpoint lets its peer send
HTTP/2 DATA frames of up to MAX_FRAME_SIZE instead of 16 KiB: a 1 MiB chunk then travels
in one frame instead of 64, which cut each agent's CPU per GiB by ~10 % (plaintext) to
~15 % (TLS) and raised throughput by ~10-15 % (bench/README.md).
"""

from __future__ import annotations

from pathlib import Path

import grpc

MAX_FRAME_SIZE = 4 << 20  # 16 MiB - 1 is the protocol's limit; 4 MiB measured as good

CHANNEL_OPTIONS: list[tuple[str, int | str]] = [
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_frame_size", MAX_FRAME_SIZE),
]

SERVER_OPTIONS: list[tuple[str, int | str]] = [
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.so_reuseport", 0),
    ("grpc.http2.max_frame_size", MAX_FRAME_SIZE),
]


def _read(path: str | Path | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


def server_credentials(
    cert: str | Path, key: str | Path, ca: str | Path | None
) -> grpc.ServerCredentials:
    """TLS server credentials; with a CA, clients must present a certificate it signed (mTLS)."""
    pair = [(Path(key).read_bytes(), Path(cert).read_bytes())]
    if ca:
        return grpc.ssl_server_credentials(
            pair, root_certificates=_read(ca), require_client_auth=True
        )
    return grpc.ssl_server_credentials(pair)


def channel_credentials(
    ca: str | Path | None, cert: str | Path | None = None, key: str | Path | None = None
) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=_read(ca), private_key=_read(key), certificate_chain=_read(cert)
    )


def open_channel(address: str, credentials: grpc.ChannelCredentials | None = None) -> grpc.Channel:
    """A channel to ``host:port``: TLS when credentials are given, plaintext otherwise."""
    if credentials is None:
        return grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
    return grpc.secure_channel(address, credentials, options=CHANNEL_OPTIONS)
