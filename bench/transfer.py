"""Agent-to-agent stream throughput against socat (raw TCP) and ssh (aes128-gcm), same run.

    .venv/bin/python bench/transfer.py [--sizes 1,4] [--runs 3] [--modes insecure,tls]

Source: a directory-backend snapshot on tmpfs (/dev/shm), sent as the backend's tar stream
(``tar -c`` reads tmpfs at > 1.5 GB/s, not the bottleneck). Sink: a child process that
discards the bytes on every path (bench/null_sink_agent.py explains why). Every transport
carries the same tar stream from the same snapshot:

    agent     SendStream(peer) on the source agent -> ReceiveStream on the target agent
    socat     tar -c | socat -> TCP loopback -> socat | cat > /dev/null
    ssh       tar -c | ssh -c aes128-gcm@openssh.com (to a private sshd on loopback) cat > /dev/null

Runs are interleaved (agent, socat, ssh, agent, ...) and the medians printed. CPU seconds
per side are those of every process on that side, children included, the same for every
transport: the sending agent and its tar, tar and the ssh or socat client; the receiving
agent and its sink cat, sshd's session and its cat, the listening socat and its cat. The
agents' own CPU seconds (utime + stime from /proc/PID/stat) are printed too; peak RSS is
VmHWM, for fresh agent processes per size, so 1 GiB and 4 GiB show whether memory stays
constant. The load average before and after each table says how busy the machine was.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))  # also runnable without the editable install

from stackferry.agent.storage.directory import DATA, META, TAR_BLOCKING, DirectoryBackend  # noqa: E402
from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc  # noqa: E402
from stackferry.common.certs import issue_cert, make_ca  # noqa: E402
from stackferry.common.logging import configure_logging  # noqa: E402

GiB = 1 << 30
SERVICE_UNIT = REPO / "deploy/systemd/stackferry-agent.service"


def deployed_malloc_env() -> dict[str, str]:
    """The glibc malloc settings the systemd unit gives the agent (bench/README.md: no mmap
    per 1 MiB buffer; two arenas keep the receiver's RSS constant), read from the unit so
    that the bench measures what is deployed."""
    env = {}
    for line in SERVICE_UNIT.read_text().splitlines():
        if line.startswith("Environment="):
            for item in line.removeprefix("Environment=").split():
                key, _, value = item.partition("=")
                if key.startswith("MALLOC_"):
                    env[key] = value
    return env


TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int, children: bool = False) -> float:
    """utime + stime of ``pid`` from /proc/PID/stat; with ``children``, plus cutime + cstime
    (the children it has reaped)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


def reap(proc: subprocess.Popen[bytes]) -> float:
    """Waits for ``proc``; its CPU seconds (user + system, its own reaped children's too)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def wait_reaped(pid: int, timeout: float = 10.0) -> None:
    """Until ``pid`` has no child left (sshd reaps its session after the client has gone)."""
    deadline = time.monotonic() + timeout
    children = Path(f"/proc/{pid}/task/{pid}/children")
    while children.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.01)


@dataclass
class Run:
    """One transfer: seconds, and the CPU seconds of each side's processes."""

    seconds: float
    cpu_send: float
    cpu_receive: float


@dataclass
class Agent:
    proc: subprocess.Popen[bytes]
    address: str
    state_dir: Path

    def cpu_seconds(self, children: bool = False) -> float:
        """Its own CPU seconds; with ``children``, plus those of the children it reaped."""
        return process_cpu(self.proc.pid, children)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_agent(
    script: list[str], work: Path, name: str, extra: list[str], env: dict[str, str]
) -> Agent:
    state = work / f"{name}-state"
    ready = work / f"{name}.ready"
    log = (work / f"{name}.log").open("wb")
    argv = [sys.executable, *script, "--listen", "127.0.0.1:0", "--ready-file", str(ready)]
    argv += ["--state-dir", str(state), "--storage-backend", "directory", "--log-level", "warning"]
    proc = subprocess.Popen(
        argv + extra,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **env},
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"agent {name} did not start: {(work / f'{name}.log').read_text()}")
        time.sleep(0.05)
    return Agent(proc, ready.read_text().strip(), state)


def make_snapshot(agent: Agent, size: int) -> tuple[str, Path]:
    """A snapshot of `size` random bytes in the source agent's directory backend."""
    backend = DirectoryBackend(agent.state_dir / "directory")
    live = backend.dataset_dir("src/bench")
    live.mkdir(parents=True, exist_ok=True)
    block = os.urandom(64 << 20)
    with (live / "random.bin").open("wb") as f:
        for _ in range(size // len(block)):
            f.write(block)
    backend.create_snapshot(["src/bench"], "s1", recursive=False)
    shutil.rmtree(live)  # only the snapshot is needed: halves the memory used on tmpfs
    return "src/bench@s1", backend.snapshot_dir("src/bench", "s1")


def agent_run(
    source: Agent, target: Agent, snapshot: str, creds: grpc.ChannelCredentials | None
) -> tuple[Run, int, float, float]:
    """The run (children included: the source's tar, the target's cat), the bytes, and the
    CPU seconds of each agent alone, for one SendStream."""

    def channel(address: str) -> grpc.Channel:
        if creds is None:
            return grpc.insecure_channel(address)
        return grpc.secure_channel(address, creds)

    with channel(target.address) as tch, channel(source.address) as sch:
        ticket = agent_pb2_grpc.AgentStub(tch).PrepareReceive(
            agent_pb2.PrepareReceiveRequest(
                kind=agent_pb2.STREAM_ZFS, target_dataset="dst/bench", allow_overwrite=True
            )
        )
        header = agent_pb2.ReceiveHeader(
            ticket=ticket.ticket, target_dataset="dst/bench", allow_overwrite=True
        )
        request = agent_pb2.SendRequest(
            kind=agent_pb2.STREAM_ZFS, snapshot=snapshot, peer=target.address, header=header
        )
        cpu = source.cpu_seconds(), target.cpu_seconds()
        cpu_all = source.cpu_seconds(children=True), target.cpu_seconds(children=True)
        start = time.monotonic()
        done = None
        for event in agent_pb2_grpc.AgentStub(sch).SendStream(request):
            if event.HasField("done"):
                done = event.done
        seconds = time.monotonic() - start
    assert done is not None, "SendStream ended without a result"
    run = Run(
        seconds,
        source.cpu_seconds(children=True) - cpu_all[0],
        target.cpu_seconds(children=True) - cpu_all[1],
    )
    return (
        run,
        done.bytes,
        source.cpu_seconds() - cpu[0],
        target.cpu_seconds() - cpu[1],
    )


def tar_argv(snapdir: Path) -> list[str]:
    return ["tar", "-b", TAR_BLOCKING, "-C", str(snapdir), "-cf", "-", META, DATA]


def pipe_run(snapdir: Path, consumer: list[str]) -> tuple[float, float]:
    """Seconds for tar -c | consumer (its output to /dev/null), and the CPU seconds of tar
    and the consumer."""
    start = time.monotonic()
    tar = subprocess.Popen(tar_argv(snapdir), stdout=subprocess.PIPE)
    assert tar.stdout is not None
    sink = subprocess.Popen(consumer, stdin=tar.stdout, stdout=subprocess.DEVNULL)
    tar.stdout.close()
    cpu = reap(sink) + reap(tar)
    if tar.returncode != 0 or sink.returncode != 0:
        raise RuntimeError(f"{consumer[0]} pipeline failed ({tar.returncode}, {sink.returncode})")
    return time.monotonic() - start, cpu


def ssh_run(snapdir: Path, ssh: list[str], sshd_pid: int) -> Run:
    """tar -c | ssh; the receiving side is sshd's session and its cat, reaped by sshd."""
    before = process_cpu(sshd_pid, children=True)
    seconds, cpu = pipe_run(snapdir, ssh)
    wait_reaped(sshd_pid)
    return Run(seconds, cpu, process_cpu(sshd_pid, children=True) - before)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def socat_run(snapdir: Path) -> Run:
    port = free_port()
    listen = [
        "socat",
        "-u",
        "-b",
        "1048576",
        f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr",
        "STDOUT",
    ]
    # The same sink as the agents' and ssh's: a `cat` child writing to /dev/null.
    server = subprocess.Popen(listen, stdout=subprocess.PIPE)
    sink = subprocess.Popen(["cat"], stdin=server.stdout, stdout=subprocess.DEVNULL)
    assert server.stdout is not None
    server.stdout.close()
    time.sleep(0.2)
    start = time.monotonic()
    try:
        _, cpu = pipe_run(
            snapdir, ["socat", "-u", "-b", "1048576", "STDIN", f"TCP:127.0.0.1:{port}"]
        )
    except BaseException:
        for proc in (server, sink):
            proc.kill()
            proc.wait()
        raise
    received = reap(server) + reap(sink)
    # until the sink has every byte, as for the agents and ssh
    return Run(time.monotonic() - start, cpu, received)


@contextmanager
def sshd(work: Path) -> Iterator[list[str]]:
    """A private sshd on a loopback port; yields the ssh argv prefix that reaches it."""
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
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPidFile {d / 'sshd.pid'}\n"
        "StrictModes no\nUsePAM no\nPermitRootLogin yes\nPasswordAuthentication no\n"
        "Ciphers aes128-gcm@openssh.com\nCompression no\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    with (d / "sshd.log").open("wb") as log:  # its log lines stay out of the table
        server = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    time.sleep(0.5)
    client = ["ssh", "-p", str(port), "-i", str(d / "user"), "-c", "aes128-gcm@openssh.com"]
    client += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    client += ["-o", "Compression=no", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
    try:
        yield client + ["root@127.0.0.1", "cat > /dev/null"]
    finally:
        server.terminate()
        server.wait(10)


def tls_credentials(work: Path) -> tuple[list[str], list[str], grpc.ChannelCredentials]:
    ca_dir = work / "tls"
    make_ca(ca_dir)
    flags = []
    for name in ("source", "target"):
        files = issue_cert(ca_dir, name, ["127.0.0.1", "localhost"])
        flags.append(f"--tls-cert {files.cert} --tls-key {files.key} --tls-ca {files.ca}".split())
    client = issue_cert(ca_dir, "bench", ["localhost"])
    creds = grpc.ssl_channel_credentials(
        client.ca.read_bytes(), client.key.read_bytes(), client.cert.read_bytes()
    )
    return flags[0], flags[1], creds


def load_average() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg()) + " (1 / 5 / 15 min)"


def mbps(size: int, seconds: float) -> float:
    return size / seconds / 1e6


def bench_size(
    work: Path, size_gib: int, runs: int, modes: list[str], ssh: list[str], env: dict[str, str]
) -> None:
    size = size_gib * GiB
    print(f"\n== {size_gib} GiB random, loopback, medians of {runs} ==", flush=True)
    print(f"load average before: {load_average()}", flush=True)
    tls = tls_credentials(work / f"tls-{size_gib}")
    sshd_pid = int((work / "ssh" / "sshd.pid").read_text())
    results: dict[str, list[float]] = {}
    sides: dict[str, list[tuple[float, float]]] = {}  # CPU s send / receive, children too
    stats: dict[str, list[tuple[float, float]]] = {}
    agents: dict[str, tuple[Agent, Agent]] = {}
    snapshot, snapdir = "", Path()
    try:
        for mode in modes:
            src_flags, dst_flags, _ = (
                tls if mode == "tls" else (["--insecure"], ["--insecure"], None)
            )
            source = start_agent(
                ["-m", "stackferry.agent"],
                work,
                f"{mode}{size_gib}-src",
                src_flags + ["--allowed-dataset-root", "src"],
                env,
            )
            target = start_agent(
                ["bench/null_sink_agent.py"],
                work,
                f"{mode}{size_gib}-dst",
                dst_flags + ["--allowed-dataset-root", "dst"],
                env,
            )
            agents[mode] = (source, target)
            if not snapshot:
                snapshot, snapdir = make_snapshot(source, size)
            else:  # the other agent sends the same snapshot: link it into its backend
                mine = DirectoryBackend(source.state_dir / "directory").snapshot_dir(
                    "src/bench", "s1"
                )
                mine.parent.mkdir(parents=True)
                mine.symlink_to(snapdir)
        transports: dict[str, Callable[[], Run]] = {
            "socat": lambda: socat_run(snapdir),
            "ssh aes128-gcm": lambda: ssh_run(snapdir, ssh, sshd_pid),
        }
        for _ in range(runs):
            for mode, (source, target) in agents.items():
                creds = tls[2] if mode == "tls" else None
                run, sent, cpu_src, cpu_dst = agent_run(source, target, snapshot, creds)
                assert sent >= size, f"sent {sent} bytes, expected at least {size}"
                results.setdefault(f"agent {mode}", []).append(mbps(sent, run.seconds))
                sides.setdefault(f"agent {mode}", []).append((run.cpu_send, run.cpu_receive))
                stats.setdefault(f"agent {mode}", []).append((cpu_src, cpu_dst))
            for name, transport in transports.items():
                run = transport()
                results.setdefault(name, []).append(mbps(size, run.seconds))
                sides.setdefault(name, []).append((run.cpu_send, run.cpu_receive))
        med = {name: statistics.median(v) for name, v in results.items()}
        print(f"{'transport':<16} {'MB/s':>7} {'/socat':>7} {'/ssh':>6}  CPU s send/recv  runs")
        for name, value in med.items():
            runs_text = " ".join(f"{v:.0f}" for v in results[name])
            send = statistics.median(c[0] for c in sides[name])
            receive = statistics.median(c[1] for c in sides[name])
            print(
                f"{name:<16} {value:7.0f} {value / med['socat']:7.2f} "
                f"{value / med['ssh aes128-gcm']:6.2f}  {send:6.2f} / {receive:5.2f}  {runs_text}"
            )
        for mode, (source, target) in agents.items():
            cpu = stats[f"agent {mode}"]
            own = statistics.median(c[0] for c in cpu), statistics.median(c[1] for c in cpu)
            print(
                f"agent {mode}: own CPU s per run source {own[0]:.2f}, "
                f"target {own[1]:.2f}; peak RSS source "
                f"{source.peak_rss_mb():.0f} MB, target {target.peak_rss_mb():.0f} MB"
            )
        print(f"load average after: {load_average()}")
    finally:
        for source, target in agents.values():
            source.stop()
            target.stop()
        if snapdir != Path():
            shutil.rmtree(snapdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4", help="GiB, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="insecure,tls")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="agent environment, replacing the deployed malloc settings (repeatable; "
        "--env NONE=1 runs without them)",
    )
    args = parser.parse_args()
    env = dict(e.split("=", 1) for e in args.env) if args.env else deployed_malloc_env()
    configure_logging("console", "warning", sys.stderr)  # the table carries no debug lines
    work = Path(tempfile.mkdtemp(prefix="sf-bench-", dir="/dev/shm"))
    print(f"stackferry transfer benchmark: {os.cpu_count()} CPUs, agents with {env}")
    try:
        with sshd(work) as ssh:
            for size in (int(s) for s in args.sizes.split(",")):
                bench_size(work, size, args.runs, args.modes.split(","), ssh, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
