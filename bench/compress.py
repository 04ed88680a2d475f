"""Wire compression over a link shaped to 1 Gbit/s: the agent uncompressed, with zstd and
with auto, against `zstd | ssh | zstd -d` (syncoid's way), same corpus, same run.

    .venv/bin/python bench/compress.py [--corpus-mib 512] [--random-mib 256] [--runs 3]

The link: a veth pair into a network namespace of its own, its host end shaped by a `tbf`
qdisc to 1 Gbit/s (netem is not available here; ../shared/TESTBED.md). The target agent
(bench/null_sink_agent.py: the real receive path, decompression included, into a `cat`
that discards) and the sshd run inside the namespace; the source agent and the pipeline's
sending end run on the host. Every transport carries the same tar stream of the same
directory-backend snapshot on tmpfs (bench/transfer.py explains the choice). The bench
creates the namespace and removes it, and its agents and sshd, at the end.

Corpora: "mixed" is a database-like file (8 KiB pages of rows, some free space), access
logs and a random part; "random" is random bytes only (where auto must cost ~nothing).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transfer import REPO, deployed_malloc_env, free_port, load_average, tar_argv  # noqa: E402

from stackferry.agent.storage.directory import DirectoryBackend  # noqa: E402
from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc  # noqa: E402
from stackferry.common.logging import configure_logging  # noqa: E402

MiB = 1 << 20
NETNS = f"sfcomp{os.getpid() % 100000}"
HOST_IF, NS_IF = f"{NETNS}a", f"{NETNS}b"
HOST_IP, NS_IP = "10.213.9.1", "10.213.9.2"
ZSTD_CLI = ["zstd", "-3", "-q", "-c"]  # syncoid's zstd-fast: `zstd -3`


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextmanager
def shaped_link() -> Iterator[None]:
    """veth HOST_IF <-> NS_IF (in NETNS), the host end shaped to 1 Gbit/s."""
    ip("netns", "add", NETNS)
    try:
        ip("link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF)
        ip("link", "set", NS_IF, "netns", NETNS)
        ip("addr", "add", f"{HOST_IP}/30", "dev", HOST_IF)
        ip("link", "set", HOST_IF, "up")
        ip("-n", NETNS, "addr", "add", f"{NS_IP}/30", "dev", NS_IF)
        ip("-n", NETNS, "link", "set", NS_IF, "up")
        ip("-n", NETNS, "link", "set", "lo", "up")
        subprocess.run(
            ["tc", "qdisc", "add", "dev", HOST_IF, "root", "tbf"]
            + ["rate", "1gbit", "burst", "256kb", "latency", "20ms"],
            check=True,
        )
        yield
    finally:
        subprocess.run(["ip", "link", "del", HOST_IF], capture_output=True)
        subprocess.run(["ip", "netns", "del", NETNS], capture_output=True)


# -- the corpus ---------------------------------------------------------------------------

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
STATUSES = [b"active", b"pending", b"closed", b"refunded"]
PATHS = [b"/api/items", b"/api/orders", b"/login", b"/static/app.js", b"/api/users", b"/"]


def db_pages(rng: random.Random, size: int) -> bytes:
    """Heap pages as a database writes them: a header, rows, free space (fillfactor)."""
    out = bytearray()
    page_no = 0
    row_id = rng.randrange(1 << 20)
    while len(out) < size:
        page = bytearray(page_no.to_bytes(4, "little") + rng.randbytes(8) + bytes(12))
        while len(page) < 8192 - 1200:
            row_id += 1
            name = rng.choice(NAMES)
            row = b"%d|%s%d@example.com|%s|%d.%02d|2026-%02d-%02dT%02d:%02d:%02d|" % (
                row_id,
                name.encode(),
                rng.randrange(1000),
                rng.choice(STATUSES),
                rng.randrange(10000),
                rng.randrange(100),
                rng.randrange(1, 13),
                rng.randrange(1, 29),
                rng.randrange(24),
                rng.randrange(60),
                rng.randrange(60),
            )
            page += len(row).to_bytes(2, "little") + row + rng.randbytes(4)
        out += page.ljust(8192, b"\0")
        page_no += 1
    return bytes(out[:size])


def access_log(rng: random.Random, size: int) -> bytes:
    lines = []
    total = 0
    while total < size:
        line = (
            b'10.%d.%d.%d - - [01/Dec/2026:22:%02d:%02d +0000] "GET %s/%d HTTP/1.1" %d %d %.3f\n'
            % (
                rng.randrange(256),
                rng.randrange(256),
                rng.randrange(256),
                rng.randrange(60),
                rng.randrange(60),
                rng.choice(PATHS),
                rng.randrange(100000),
                rng.choice((200, 200, 200, 304, 404, 500)),
                rng.randrange(50000),
                rng.random(),
            )
        )
        lines.append(line)
        total += len(line)
    return b"".join(lines)[:size]


def write_cycled(path: Path, make: Callable[[random.Random, int], bytes], size: int) -> None:
    """``size`` bytes of 8 distinct 4 MiB blocks in turn: a period (32 MiB) longer than any
    compressor's window here, so repeats do not flatter the ratios."""
    blocks = [make(random.Random(seed), 4 * MiB) for seed in range(8)]
    with path.open("wb") as out:
        for i in range(size // (4 * MiB)):
            out.write(blocks[i % len(blocks)])


def make_corpus(backend: DirectoryBackend, dataset: str, parts: dict[str, int]) -> Path:
    live = backend.dataset_dir(dataset)
    live.mkdir(parents=True)
    for name, size in parts.items():
        if name == "random.bin":
            with (live / name).open("wb") as out:
                for _ in range(size // (16 * MiB)):
                    out.write(os.urandom(16 * MiB))
        else:
            write_cycled(live / name, db_pages if name.endswith(".db") else access_log, size)
    backend.create_snapshot([dataset], "s1", recursive=False)
    shutil.rmtree(live)
    return backend.snapshot_dir(dataset, "s1")


# -- the transports -----------------------------------------------------------------------


@dataclass
class Agent:
    proc: subprocess.Popen[bytes]
    address: str
    state_dir: Path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_agent(
    work: Path, name: str, script: list[str], listen: str, extra: list[str], netns: bool
) -> Agent:
    state, ready, log = work / f"{name}-state", work / f"{name}.ready", work / f"{name}.log"
    argv = [sys.executable, *script, "--listen", listen, "--ready-file", str(ready), "--insecure"]
    argv += ["--state-dir", str(state), "--storage-backend", "directory", "--log-level", "warning"]
    prefix = ["ip", "netns", "exec", NETNS] if netns else []
    env = {**os.environ, **deployed_malloc_env(), "PYTHONPATH": str(REPO / "src")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            prefix + argv + extra, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env
        )
    deadline = time.monotonic() + 30
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"agent {name} did not start: {log.read_text()}")
        time.sleep(0.05)
    return Agent(proc, ready.read_text().strip(), state)


def agent_run(source: Agent, target: Agent, snapshot: str, compression: str) -> tuple[float, int]:
    """Seconds until the target has every byte, and the bytes on the wire."""
    with grpc.insecure_channel(target.address) as tch, grpc.insecure_channel(source.address) as sch:
        ticket = agent_pb2_grpc.AgentStub(tch).PrepareReceive(
            agent_pb2.PrepareReceiveRequest(
                kind=agent_pb2.STREAM_ZFS, target_dataset="dst/bench", allow_overwrite=True
            )
        )
        header = agent_pb2.ReceiveHeader(
            ticket=ticket.ticket, target_dataset="dst/bench", allow_overwrite=True
        )
        request = agent_pb2.SendRequest(
            kind=agent_pb2.STREAM_ZFS,
            snapshot=snapshot,
            peer=target.address,
            header=header,
            compression=compression,
        )
        start = time.monotonic()
        done = None
        for event in agent_pb2_grpc.AgentStub(sch).SendStream(request):
            if event.HasField("done"):
                done = event.done
        seconds = time.monotonic() - start
    assert done is not None, "SendStream ended without a result"
    return seconds, done.wire_bytes


@contextmanager
def sshd(work: Path) -> Iterator[list[str]]:
    """A private sshd inside the namespace (its log into a file); yields the ssh argv."""
    d = work / "ssh"
    d.mkdir()
    for key in ("host", "user"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True
        )
    shutil.copy(d / "user.pub", d / "authorized_keys")
    port = free_port()
    config = d / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress {NS_IP}\nHostKey {d / 'host'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPidFile {d / 'sshd.pid'}\n"
        "StrictModes no\nUsePAM no\nPermitRootLogin yes\nPasswordAuthentication no\n"
        "Ciphers aes128-gcm@openssh.com\nCompression no\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    with (d / "sshd.log").open("wb") as log:
        server = subprocess.Popen(
            ["ip", "netns", "exec", NETNS, "/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    time.sleep(0.5)
    client = ["ssh", "-p", str(port), "-i", str(d / "user"), "-c", "aes128-gcm@openssh.com"]
    client += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    client += ["-o", "Compression=no", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
    try:
        yield client + [f"root@{NS_IP}", "zstd -d -q -c | cat > /dev/null"]
    finally:
        server.terminate()
        server.wait(10)


def ssh_run(snapdir: Path, ssh: list[str]) -> float:
    """tar -c | zstd -3 | ssh 'zstd -d | cat > /dev/null': until the far end has it all."""
    start = time.monotonic()
    tar = subprocess.Popen(tar_argv(snapdir), stdout=subprocess.PIPE)
    zstd = subprocess.Popen(ZSTD_CLI, stdin=tar.stdout, stdout=subprocess.PIPE)
    assert tar.stdout is not None and zstd.stdout is not None
    tar.stdout.close()
    done = subprocess.run(ssh, stdin=zstd.stdout, stdout=subprocess.DEVNULL, check=False)
    zstd.stdout.close()
    if tar.wait() != 0 or zstd.wait() != 0 or done.returncode != 0:
        raise RuntimeError(f"ssh pipeline failed ({tar.returncode}, {zstd.returncode})")
    return time.monotonic() - start


def stream_bytes(snapdir: Path, compress: bool = False) -> int:
    """The tar stream's size; compress: after `zstd -3` (the ssh pipeline's wire bytes)."""
    tar = subprocess.Popen(tar_argv(snapdir), stdout=subprocess.PIPE)
    argv = ZSTD_CLI if compress else ["cat"]
    out = subprocess.run(argv, stdin=tar.stdout, stdout=subprocess.PIPE, check=True).stdout
    tar.wait()
    return len(out)


# -- the run ------------------------------------------------------------------------------


def measure(
    runs: int, transports: dict[str, Callable[[], tuple[float, int]]], size: int
) -> tuple[dict[str, tuple[float, int]], dict[str, list[float]]]:
    """Interleaved runs; the median seconds of each transport and its bytes on the wire
    (the median run's), and every run's seconds."""
    seconds: dict[str, list[float]] = {}
    wire: dict[str, list[int]] = {}
    for _ in range(runs):
        for name, run in transports.items():
            took, sent = run()
            seconds.setdefault(name, []).append(took)
            wire.setdefault(name, []).append(sent or size)
    medians = {}
    for name, v in seconds.items():
        median_run = v.index(statistics.median_low(v))
        medians[name] = (statistics.median(v), wire[name][median_run])
    return medians, seconds


def print_table(
    title: str, size: int, med: dict[str, tuple[float, int]], every: dict[str, list[float]]
) -> None:
    runs = len(next(iter(every.values())))
    print(f"\n== {title}: {size / MiB:.0f} MiB stream, 1 Gbit/s tbf link, medians of {runs} ==")
    print(f"{'transport':<26} {'seconds':>8} {'MB/s':>7} {'wire MiB':>9} {'ratio':>6}  runs (s)")
    for name, (took, sent) in med.items():
        runs_text = " ".join(f"{v:.2f}" for v in every[name])
        print(
            f"{name:<26} {took:8.2f} {size / took / 1e6:7.0f} {sent / MiB:9.0f} "
            f"{size / sent:6.2f}  {runs_text}"
        )


Figures = dict[str, tuple[float, int]]  # transport -> (median seconds, bytes on the wire)
SSH = "zstd -3 | ssh | zstd -d"


@dataclass
class Bench:
    source: Agent
    target: Agent
    backend: DirectoryBackend
    ssh: list[str]
    runs: int

    def corpus(
        self, title: str, parts: dict[str, int], modes: tuple[str, ...], ssh: bool
    ) -> Figures:
        snapshot = f"src/{title}@s1"
        snapdir = make_corpus(self.backend, f"src/{title}", parts)
        size = stream_bytes(snapdir)
        transports: dict[str, Callable[[], tuple[float, int]]] = {}
        for mode in modes:
            transports[f"agent {mode}"] = partial(
                agent_run, self.source, self.target, snapshot, mode
            )
        if ssh:
            wire = stream_bytes(snapdir, compress=True)
            transports[SSH] = lambda: (ssh_run(snapdir, self.ssh), wire)
        figures, every = measure(self.runs, transports, size)
        print_table(title, size, figures, every)
        shutil.rmtree(snapdir)
        return figures


def print_ratios(mixed: Figures, rnd: Figures) -> None:
    def faster(slow: str, fast: str, figures: Figures = mixed) -> float:
        return figures[slow][0] / figures[fast][0]

    print("\n== ratios (time of one / time of the other) ==")
    print(
        f"mixed: agent zstd vs ssh pipeline  {faster(SSH, 'agent zstd'):.2f}x faster (goal >= 1.3)"
    )
    vs_none = faster("agent none", "agent zstd")
    print(f"mixed: agent zstd vs agent none    {vs_none:.2f}x faster (goal >= 2)")
    print(f"mixed: agent auto vs agent none    {faster('agent none', 'agent auto'):.2f}x faster")
    ratio = rnd["agent auto"][0] / rnd["agent none"][0]
    print(f"random: agent auto time / none     {ratio:.3f} (goal <= 1.05)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-mib", type=int, default=512, help="mixed corpus size")
    parser.add_argument("--random-mib", type=int, default=256, help="random corpus size")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (ip netns, tc)", file=sys.stderr)
        return 2
    configure_logging("console", "warning", sys.stderr)  # the tables carry no debug lines
    work = Path(tempfile.mkdtemp(prefix="sf-compress-", dir="/dev/shm"))
    agents: list[Agent] = []
    print(f"stackferry compression benchmark: {os.cpu_count()} CPUs; link {HOST_IF} -> {NETNS}")
    print(f"load average before: {load_average()}", flush=True)
    try:
        with shaped_link(), sshd(work) as ssh:
            script, root = ["-m", "stackferry.agent"], ["--allowed-dataset-root"]
            agents.append(start_agent(work, "src", script, "127.0.0.1:0", [*root, "src"], False))
            script = ["bench/null_sink_agent.py"]
            agents.append(start_agent(work, "dst", script, f"{NS_IP}:0", [*root, "dst"], True))
            source, target = agents
            backend = DirectoryBackend(source.state_dir / "directory")
            bench = Bench(source, target, backend, ssh, args.runs)
            eighth = args.corpus_mib * MiB // 8
            parts = {"orders.db": 4 * eighth, "access.log": 3 * eighth, "random.bin": eighth}
            mixed = bench.corpus("mixed", parts, ("none", "zstd", "auto"), ssh=True)
            only_random = {"random.bin": args.random_mib * MiB}
            rnd = bench.corpus("random", only_random, ("none", "auto"), ssh=False)
            print_ratios(mixed, rnd)
            print(f"load average after: {load_average()}")
    finally:
        for agent in agents:
            agent.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
