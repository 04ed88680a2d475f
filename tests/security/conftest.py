"""Fixtures for the security tier: a PKI made with `stackferry certs`, and real agents serving
mutual TLS with a zfs-fuse pool and filesystem roots of their own.

Every agent here runs zfs and zpool through a recording wrapper (it logs each argv, then
execs the real binary), so a test can show that a refused name never reached a command line.
"""

from __future__ import annotations

import datetime
import shutil
import stat
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest

from agent.pb import agent_pb2_grpc
from common.grpc_options import channel_credentials, open_channel
from controller import certs

if TYPE_CHECKING:
    from conftest import AgentProcess, Pool


@dataclass(frozen=True)
class Pki:
    ca: Path
    agent: certs.CertFiles  # the agents' server (and peer client) certificate
    client: certs.CertFiles  # what the controller presents
    other_ca_client: certs.CertFiles  # signed by an unrelated CA
    expired_client: certs.CertFiles  # our CA, but no longer valid


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    ours = tmp_path_factory.mktemp("pki-ours")
    theirs = tmp_path_factory.mktemp("pki-theirs")
    ca = certs.make_ca(ours).cert
    certs.make_ca(theirs)
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    return Pki(
        ca=ca,
        agent=certs.issue_cert(ours, "agent", ["127.0.0.1", "localhost"]),
        client=certs.issue_cert(ours, "controller", ["controller.test"]),
        other_ca_client=certs.issue_cert(theirs, "intruder", ["controller.test"]),
        expired_client=certs.issue_cert(ours, "expired", ["controller.test"], not_valid_after=past),
    )


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def secure_channel(address: str, ca: Path, client: certs.CertFiles | None) -> grpc.Channel:
    creds = channel_credentials(ca, client.cert if client else None, client.key if client else None)
    return open_channel(address, creds)


def _recording_wrapper(binary: str, log: Path, path: Path) -> str:
    real = shutil.which(binary)
    if real is None:
        pytest.skip(f"{binary} is not installed")
    # \037 (unit separator) between arguments keeps an argument with spaces or newlines whole.
    path.write_text(
        f"#!/bin/sh\nprintf '%s\\037' {binary} \"$@\" >> '{log}'\nprintf '\\n' >> '{log}'\n"
        f'exec {real} "$@"\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@dataclass
class SecureAgent:
    process: AgentProcess
    pool: Pool
    dataset_root: str  # the one allowed dataset root: POOL/allowed
    path_root: Path  # the one allowed filesystem root
    outside: Path  # a directory beside path_root that the agent must never write
    command_log: Path
    docker_host: str

    @property
    def address(self) -> str:
        return self.process.address

    def commands(self) -> list[list[str]]:
        if not self.command_log.exists():
            return []
        lines = self.command_log.read_text().splitlines()
        return [line.rstrip("\037").split("\037") for line in lines if line]

    def datasets(self) -> list[str]:
        out = subprocess.run(
            ["zfs", "list", "-H", "-o", "name", "-r", "-t", "all", self.pool.name],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.split()


@pytest.fixture
def secure_agent(
    start_agent: Callable[..., AgentProcess],
    zfs_pool: Callable[..., Pool],
    docker_hosts: tuple[str, str],
    pki: Pki,
    tmp_path: Path,
) -> SecureAgent:
    """An agent with mTLS, allowed dataset root POOL/allowed and allowed path root .../roots."""
    pool = zfs_pool("sec")
    dataset_root = f"{pool.name}/allowed"
    subprocess.run(["zfs", "create", dataset_root], check=True, capture_output=True)
    path_root = tmp_path / "roots"
    outside = tmp_path / "outside"
    path_root.mkdir()
    outside.mkdir()
    log = tmp_path / "commands.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    agent = start_agent(
        "--tls-cert",
        str(pki.agent.cert),
        "--tls-key",
        str(pki.agent.key),
        "--tls-ca",
        str(pki.ca),
        "--allowed-dataset-root",
        dataset_root,
        "--allowed-path-root",
        str(path_root),
        "--docker-host",
        docker_hosts[0],
        "--zfs-binary",
        _recording_wrapper("zfs", log, bin_dir / "zfs-recording"),
        "--zpool-binary",
        _recording_wrapper("zpool", log, bin_dir / "zpool-recording"),
    )
    return SecureAgent(agent, pool, dataset_root, path_root, outside, log, docker_hosts[0])


@pytest.fixture
def tls_agent(start_agent: Callable[..., AgentProcess], pki: Pki, tmp_path: Path) -> AgentProcess:
    """An mTLS agent over the directory backend: the handshake tests need no pool."""
    return start_agent(
        "--tls-cert",
        str(pki.agent.cert),
        "--tls-key",
        str(pki.agent.key),
        "--tls-ca",
        str(pki.ca),
        "--storage-backend",
        "directory",
        "--allowed-dataset-root",
        "stacks",
        "--allowed-path-root",
        str(tmp_path),
    )


@pytest.fixture
def stub(secure_agent: SecureAgent, pki: Pki) -> Iterator[agent_pb2_grpc.AgentStub]:
    """An Agent stub that presents the controller's (valid) client certificate."""
    channel = secure_channel(secure_agent.address, pki.ca, pki.client)
    yield agent_pb2_grpc.AgentStub(channel)
    channel.close()
