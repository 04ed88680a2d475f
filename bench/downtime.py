"""Downtime of one stack moved three ways, in one run, on the same two zfs-fuse pools and the
two local Docker engines (host A, host B):

    (a) stackferry   `stackferry migrate` (embedded controller, two agents on loopback)
    (b) naive        stop -> full zfs send | ssh | zfs receive -> compose up (what transdock
                     and dockmesh do: offline for the whole transfer)
    (c) expert       snapshot, zfs send | ssh | zfs receive while the app runs, stop, second
                     snapshot, incremental send over ssh, compose up on the target

    .venv/bin/python bench/downtime.py [--size-mib 1024] [--write-rate 2000000]

The stack: one service on a dataset holding SIZE MiB of random data, appending WRITE_RATE
bytes/s of random data to a log while it runs; it stops on SIGTERM (a trap) and has a
healthcheck. Every way's downtime spans the same moments: the stop asked for on A -> the
service on B running and healthy (docker's health status, polled every 0.1 s). ssh is a
private sshd on loopback (bench/transfer.py starts it), aes128-gcm, no compression.

It prints each downtime with its parts, the ratios, and stackferry's floor and overhead from
its own record (stop + final delta at the measured link rate + start to healthy). Nothing
asserts a speed: it is a benchmark (bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transfer import sshd  # noqa: E402  (the loopback sshd of the transfer bench)

from stackferry.controller.config import sqlite_url  # noqa: E402
from stackferry.controller.store.sql import SqlMigrationStore  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".venv" / "bin"
DOCKER_A = "unix:///var/run/docker.sock"
DOCKER_B = "unix:///run/stackferry-hostb/docker.sock"
IMAGE = "local/busybox:1"
PROJECT = "sfbenchdt"
CHUNK = 1 << 20

COMPOSE = """\
services:
  app:
    image: {image}
    command:
      - sh
      - -c
      - "trap 'exit 0' TERM; while true; do head -c {chunk} /dev/urandom >> /data/log.bin;
        sleep {pause}; done & wait"
    stop_grace_period: 10s
    healthcheck:
      test: ["CMD", "test", "-f", "/data/log.bin"]
      interval: 1s
      start_period: 0s
      retries: 30
    volumes:
      - {data}:/data
"""


def run(*argv: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def compose(host: str, compose_file: Path, *args: str) -> None:
    run("docker-compose", "-p", PROJECT, "-f", str(compose_file), *args, env={"DOCKER_HOST": host})


def wait_healthy(host: str) -> float:
    """Polls until the project's container on `host` is running and healthy; the moment."""
    label = f"label=com.docker.compose.project={PROJECT}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ids = run("docker", "-H", host, "ps", "-q", "--filter", label).split()
        if ids:
            state = json.loads(
                run("docker", "-H", host, "inspect", "-f", "{{json .State}}", ids[0])
            )
            if state.get("Running") and state.get("Health", {}).get("Status") == "healthy":
                return time.time()
        time.sleep(0.1)
    raise RuntimeError(f"the stack on {host} did not get healthy")


def remove_project(host: str) -> None:
    label = f"label=com.docker.compose.project={PROJECT}"
    ids = run("docker", "-H", host, "ps", "-aq", "--filter", label).split()
    if ids:
        run("docker", "-H", host, "rm", "-f", *ids)
    nets = run("docker", "-H", host, "network", "ls", "-q", "--filter", label).split()
    if nets:
        run("docker", "-H", host, "network", "rm", *nets)


@dataclass
class Result:
    name: str
    downtime: float
    parts: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Bench:
    work: Path
    pool_a: str
    pool_b: str
    size_mib: int
    write_rate: int
    ssh: list[str] = field(default_factory=list)

    @property
    def dataset(self) -> str:
        return f"{self.pool_a}/app"

    @property
    def data_dir(self) -> Path:
        return self.work / "pool-a" / "app" / "data"

    @property
    def compose_file(self) -> Path:
        return self.work / "pool-a" / "app" / "docker-compose.yml"

    # -- the world -----------------------------------------------------------------------

    def make(self) -> None:
        size = f"{self.size_mib * 3 + 512}M"
        for pool, label in ((self.pool_a, "a"), (self.pool_b, "b")):
            image = self.work / f"{label}.img"
            run("truncate", "-s", size, str(image))
            run("zpool", "create", "-m", str(self.work / f"pool-{label}"), pool, str(image))
        run("zfs", "create", self.dataset)
        self.data_dir.mkdir()
        block = os.urandom(64 << 20)
        with (self.data_dir / "blob.bin").open("wb") as blob:
            left = self.size_mib << 20
            while left > 0:
                blob.write(block[: min(left, len(block))])
                left -= len(block)
        self.write_compose(self.compose_file, self.data_dir)

    def write_compose(self, path: Path, data: Path) -> None:
        pause = CHUNK / self.write_rate
        path.write_text(COMPOSE.format(image=IMAGE, chunk=CHUNK, pause=f"{pause:.3f}", data=data))

    def start_source(self) -> None:
        compose(DOCKER_A, self.compose_file, "up", "-d")
        wait_healthy(DOCKER_A)
        time.sleep(2)  # the writer runs a while before each way starts

    def reset_target(self, received: str) -> None:
        remove_project(DOCKER_B)
        subprocess.run(["zfs", "destroy", "-r", received], capture_output=True, check=False)
        for line in run(
            "zfs", "list", "-H", "-t", "snapshot", "-o", "name", "-r", self.dataset
        ).split():
            run("zfs", "destroy", line)

    def destroy(self) -> None:
        for host in (DOCKER_A, DOCKER_B):
            remove_project(host)
        for pool in (self.pool_a, self.pool_b):
            for _ in range(150):  # zfs-fuse keeps a pool busy for a while after its last use
                done = subprocess.run(["zpool", "destroy", "-f", pool], capture_output=True)
                if done.returncode == 0:
                    break
                time.sleep(0.2)
            else:
                print(f"pool {pool} left behind: run `zpool destroy -f {pool}`", file=sys.stderr)

    # -- the ways ------------------------------------------------------------------------

    def ssh_receive(self, send: list[str], target: str) -> None:
        """`send | ssh zfs receive -F target`, as syncoid or a person would."""
        sender = subprocess.Popen(send, stdout=subprocess.PIPE)
        assert sender.stdout is not None
        receiver = subprocess.run(
            [*self.ssh, f"zfs receive -F {target}"], stdin=sender.stdout, capture_output=True
        )
        sender.stdout.close()
        if sender.wait() != 0 or receiver.returncode != 0:
            raise RuntimeError(f"zfs send | ssh | zfs receive failed: {receiver.stderr!r}")

    def target_compose(self, received: str) -> Path:
        mountpoint = run("zfs", "get", "-H", "-o", "value", "mountpoint", received).strip()
        path = self.work / "manual" / "docker-compose.yml"
        path.parent.mkdir(exist_ok=True)
        self.write_compose(path, Path(mountpoint) / "data")
        return path

    def naive(self) -> Result:
        received = f"{self.pool_b}/naive"
        t0 = time.time()
        compose(DOCKER_A, self.compose_file, "stop")
        t1 = time.time()
        run("zfs", "snapshot", f"{self.dataset}@naive")
        t2 = time.time()
        self.ssh_receive(["zfs", "send", f"{self.dataset}@naive"], received)
        t3 = time.time()
        compose(DOCKER_B, self.target_compose(received), "up", "-d")
        t4 = time.time()
        t5 = wait_healthy(DOCKER_B)
        parts = [("stop", t1 - t0), ("snapshot", t2 - t1), ("full transfer", t3 - t2)]
        parts += [("compose up", t4 - t3), ("start to healthy", t5 - t4)]
        self.reset_target(received)
        return Result("(b) naive: stop, full copy, start", t5 - t0, parts)

    def expert(self) -> Result:
        received = f"{self.pool_b}/expert"
        run("zfs", "snapshot", f"{self.dataset}@s1")
        self.ssh_receive(["zfs", "send", f"{self.dataset}@s1"], received)
        t0 = time.time()
        compose(DOCKER_A, self.compose_file, "stop")
        t1 = time.time()
        run("zfs", "snapshot", f"{self.dataset}@s2")
        t2 = time.time()
        self.ssh_receive(["zfs", "send", "-i", "@s1", f"{self.dataset}@s2"], received)
        t3 = time.time()
        compose(DOCKER_B, self.target_compose(received), "up", "-d")
        t4 = time.time()
        t5 = wait_healthy(DOCKER_B)
        parts = [("stop", t1 - t0), ("snapshot", t2 - t1), ("incremental", t3 - t2)]
        parts += [("compose up", t4 - t3), ("start to healthy", t5 - t4)]
        self.reset_target(received)
        return Result("(c) expert: send, stop, incremental, up", t5 - t0, parts)

    def stackferry(self) -> tuple[Result, dict[str, object]]:
        agents = [
            self.start_agent("a", self.pool_a, DOCKER_A),
            self.start_agent("b", self.pool_b, DOCKER_B),
        ]
        try:
            (_, a), (_, b) = agents
            argv = [str(BIN / "stackferry"), "migrate", "--json", "--insecure"]
            argv += ["--from", a, "--to", b, "--compose", str(self.compose_file)]
            argv += ["--target-dataset", f"{self.pool_b}/migrated"]
            argv += ["--target-base", str(self.work / "host-b"), "--project-name", PROJECT]
            env = {**os.environ, "STACKFERRY_STATE_DIR": str(self.work / "controller-state")}
            done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                raise RuntimeError(
                    f"stackferry migrate failed: {done.stdout[-2000:]} {done.stderr[-2000:]}"
                )
            record = json.loads(done.stdout)
            record["before_the_stop"], record["in_the_deploy"] = self.said(str(record["id"]))
        finally:
            for proc, _ in agents:
                proc.terminate()
                proc.wait(30)
        d = record["downtime"]
        parts = [
            ("stop", d["stop_seconds"]),
            ("final snapshot", d["final_snapshot_seconds"]),
            ("final transfer", d["final_transfer_seconds"]),
            ("deploy", d["deploy_seconds"]),
            ("start to healthy", d["start_to_healthy_seconds"]),
        ]
        return Result("(a) stackferry", float(d["downtime_seconds"]), parts), record

    def said(self, migration_id: str) -> tuple[list[str], list[str]]:
        """What the migration's own log says it did while the app still ran, after the bulk
        pass (pre-staging): the lines of its bulk step from the pre-stage on; and what its
        deploy step logged (how the target's containers were started)."""
        store = SqlMigrationStore(sqlite_url(self.work / "controller-state" / "controller.db"))
        try:
            events = store.list_events(migration_id, limit=100_000)
        finally:
            store.close()
        said = [e.message for e in events if e.step == "bulk_send" and e.kind == "log"]
        wanted = (
            "copying images",
            "target containers",
            "converge",
            "receive tickets",
            "pre-staged",
        )
        deployed = [e.message for e in events if e.step == "deploy" and e.kind == "log"]
        return [m for m in said if any(w in m for w in wanted)], deployed

    def start_agent(self, label: str, pool: str, host: str) -> tuple[subprocess.Popen[bytes], str]:
        ready = self.work / f"agent-{label}.ready"
        log = (self.work / f"agent-{label}.log").open("wb")
        proc = subprocess.Popen(
            [
                str(BIN / "stackferry-agent"),
                *("--listen", "127.0.0.1:0", "--insecure", "--ready-file", str(ready)),
                *("--allowed-dataset-root", pool, "--allowed-path-root", str(self.work)),
                *("--docker-host", host, "--state-dir", str(self.work / f"agent-{label}-state")),
                *("--log-level", "warning"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"agent {label} did not start")
            time.sleep(0.05)
        return proc, ready.read_text().strip()


def show(results: list[Result], record: dict[str, object]) -> None:
    for r in results:
        print(f"{r.name:<42} downtime {r.downtime:7.2f} s")
        for name, seconds in r.parts:
            print(f"    {name:<20}{seconds:7.2f} s")
    ours, naive, expert = results[2], results[0], results[1]
    d = record["downtime"]
    assert isinstance(d, dict)
    rounds = record.get("converge_rounds", [])
    assert isinstance(rounds, list)
    print()
    print(f"stackferry / naive:  {ours.downtime / naive.downtime:.3f}  (goal <= 0.1)")
    print(f"stackferry / expert: {ours.downtime / expert.downtime:.3f}  (goal < 1)")
    rate = float(d["link_rate_bytes_per_second"]) / 1e6
    delta = int(d["final_delta_bytes"])
    print(
        f"stackferry floor {float(d['floor_seconds']):.2f} s (stop + {delta} bytes "
        f"at {rate:.1f} MB/s + start to healthy), overhead {float(d['overhead_seconds']):.2f} s "
        "(goal <= 1.0)"
    )
    sizes = ", ".join(f"{int(r['bytes'])} B in {float(r['seconds']):.1f} s" for r in rounds)
    print(f"converge rounds before the stop: {len(rounds)} ({sizes or 'none'})")
    before = record.get("before_the_stop", [])
    assert isinstance(before, list)
    print("done before the stop, while the app ran (stackferry's own log):")
    for line in before:
        print(f"    {line}")
    deployed = record.get("in_the_deploy", [])
    assert isinstance(deployed, list)
    print("in the deploy, after the stop (stackferry's own log):")
    for line in deployed:
        print(f"    {line}")
    print(f"spans: {d['spans']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="data on the dataset")
    parser.add_argument("--write-rate", type=int, default=2_000_000, help="bytes/s appended")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/downtime.py: run as root (zfs-fuse and the Docker engines)")
    work = Path(tempfile.mkdtemp(prefix="sf-bench-downtime-", dir="/var/tmp"))
    tag = os.urandom(3).hex()
    bench = Bench(work, f"sfbdta{tag}", f"sfbdtb{tag}", args.size_mib, args.write_rate)
    try:
        bench.make()
        with sshd(work) as ssh:
            bench.ssh = ssh[:-1]  # the argv up to the remote command
            results = []
            for way in (bench.naive, bench.expert):
                bench.start_source()
                results.append(way())
            bench.start_source()
            ours, record = bench.stackferry()
            results.append(ours)
        print(f"\n{args.size_mib} MiB on the dataset, writer {args.write_rate / 1e6:.1f} MB/s\n")
        show(results, record)
    finally:
        bench.destroy()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
