"""Fixtures for the security tier: a PKI made with `stackferry certs`, and real agents serving
mutual TLS with a zfs-fuse pool and filesystem roots of their own.

Every agent here finds recording wrappers of zfs, zpool and tar first on its PATH (each logs
its argv, then execs the real command, or fails as "not found" where there is none), so a
test can show that a refused name never reached a command line.
"""

from __future__ import annotations

import datetime
import os
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

from stackferry.api.agent.v1 import agent_pb2_grpc
from stackferry.common import certs
from stackferry.common.grpc_options import channel_credentials, open_channel

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


RECORDED_COMMANDS = ("zfs", "zpool", "tar")


def _recording_wrappers(bin_dir: Path, log: Path) -> None:
    """bin_dir/zfs, zpool, tar: each logs its argv, then execs the real command. The agent
    finds them first on its PATH. A command this machine lacks gets a wrapper too, which logs
    and fails as the shell would: a call that reaches it is recorded all the same."""
    bin_dir.mkdir()
    for command in RECORDED_COMMANDS:
        real = shutil.which(command)
        run = f'exec {real} "$@"' if real else f"echo '{command}: not found' >&2; exit 127"
        wrapper = bin_dir / command
        # \037 (unit separator) between arguments keeps one with spaces or newlines whole.
        wrapper.write_text(
            f"#!/bin/sh\nprintf '%s\\037' {command} \"$@\" >> '{log}'\n"
            f"printf '\\n' >> '{log}'\n{run}\n"
        )
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)


@dataclass
class SecureAgent:
    process: AgentProcess
    backend: str  # "zfs" (a zfs-fuse pool) or "directory" (under state_dir)
    dataset_root: str  # the one allowed dataset root
    outside_dataset: str  # a dataset name outside it
    path_root: Path  # the one allowed filesystem root
    outside: Path  # a directory beside path_root that the agent must never write
    state_dir: Path
    command_log: Path
    docker_host: str
    pool: Pool | None = None

    @property
    def address(self) -> str:
        return self.process.address

    def commands(self) -> list[list[str]]:
        if not self.command_log.exists():
            return []
        lines = self.command_log.read_text().splitlines()
        return [line.rstrip("\037").split("\037") for line in lines if line]

    def datasets(self) -> list[str]:
        """Every dataset and snapshot the backend holds."""
        if self.pool is None:
            base = self.state_dir / "directory"
            return sorted(
                str(p.relative_to(base))
                for sub in ("datasets", "snapshots")
                for p in (base / sub).rglob("*")
                if p.is_dir()
            )
        out = subprocess.run(
            ["zfs", "list", "-H", "-o", "name", "-r", "-t", "all", self.pool.name],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.split()


@pytest.fixture
def secure_agent(
    request: pytest.FixtureRequest,
    start_agent: Callable[..., AgentProcess],
    docker_hosts: tuple[str, str],
    pki: Pki,
    tmp_path: Path,
) -> SecureAgent:
    """An agent with mTLS, one allowed dataset root and one allowed path root (.../roots).
    The backend is zfs unless a test parametrizes this fixture (indirect) with "directory"."""
    backend = getattr(request, "param", "zfs")
    state_dir = tmp_path / "state"
    pool = None
    if backend == "zfs":
        pool = request.getfixturevalue("zfs_pool")("sec")  # only this backend needs zfs-fuse
        dataset_root, outside_dataset = f"{pool.name}/allowed", pool.name
        subprocess.run(["zfs", "create", dataset_root], check=True, capture_output=True)
    else:
        dataset_root, outside_dataset = "stacks/allowed", "elsewhere"
        (state_dir / "directory" / "datasets" / dataset_root).mkdir(parents=True)
    path_root = tmp_path / "roots"
    outside = tmp_path / "outside"
    path_root.mkdir()
    outside.mkdir()
    log = tmp_path / "commands.log"
    _recording_wrappers(tmp_path / "bin", log)
    agent = start_agent(
        "--tls-cert",
        str(pki.agent.cert),
        "--tls-key",
        str(pki.agent.key),
        "--tls-ca",
        str(pki.ca),
        "--storage-backend",
        backend,
        "--state-dir",
        str(state_dir),
        "--allowed-dataset-root",
        dataset_root,
        "--allowed-path-root",
        str(path_root),
        "--docker-host",
        docker_hosts[0],
        env={"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"},
    )
    return SecureAgent(
        agent,
        backend,
        dataset_root,
        outside_dataset,
        path_root,
        outside,
        state_dir,
        log,
        docker_hosts[0],
        pool,
    )


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
