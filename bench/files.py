"""The file mover's passes against rsync over ssh and tar | ssh | tar, same tree, same run.

    .venv/bin/python bench/files.py [--size-gib 2] [--files 20000] [--change 0.01] [--tls]

A tree of --files files of mixed sizes (log-uniform, 512 B to 16 MiB, scaled to --size-gib)
in 100 directories is written to tmpfs (/dev/shm), then copied by

    agent        one file pass between two agents (SendStream kind files -> FileSync),
                 plaintext, or mutual TLS with --tls
    rsync/ssh    rsync with the agent's own options, -e ssh -c aes128-gcm (a private sshd)
    tar/ssh      tar -c | ssh -c aes128-gcm ... tar -x (full pass only)

each into a target of its own. Then --change of the files are modified (4 KiB each) and the
agent and rsync/ssh run their delta passes. Printed: seconds, ratios (rsync/ssh time divided
by the agent's: > 1 means the agent is faster), the agents' CPU seconds in each pass (their
own, start-up excluded, and their rsync children's) and peak RSS. One run of each: the tree
is large; repeat the command to see the noise.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "src"))
sys.path.insert(0, str(BENCH))

from transfer import (  # noqa: E402
    TICKS,
    Agent,
    deployed_malloc_env,
    sshd,
    start_agent,
    tls_credentials,
)

from stackferry.agent.files.rsync_argv import client_argv  # noqa: E402
from stackferry.controller.agents import AgentDialer  # noqa: E402
from stackferry.hostapi import FileTransfer, FileTree, TransferResult  # noqa: E402

GiB = 1 << 30
POOL = 64 << 20  # random bytes every file's content is cut from


def generate(root: Path, total: int, files: int, seed: int = 1) -> list[Path]:
    """`files` files whose sizes sum to about `total`, in 100 directories."""
    rng = random.Random(seed)
    raw = [math.exp(rng.uniform(math.log(512), math.log(16 << 20))) for _ in range(files)]
    scale = total / sum(raw)
    pool = os.urandom(POOL)
    paths = []
    for i, size in enumerate(raw):
        n = min(int(size * scale), POOL)
        path = root / f"d{i % 100:02d}" / f"f{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        start = rng.randrange(0, POOL - n + 1)
        path.write_bytes(pool[start : start + n])
        paths.append(path)
    return paths


def change(paths: list[Path], fraction: float, seed: int = 2) -> int:
    """Overwrites 4 KiB in `fraction` of the files; returns how many were changed."""
    rng = random.Random(seed)
    chosen = rng.sample(paths, max(1, int(len(paths) * fraction)))
    for path in chosen:
        size = path.stat().st_size
        with path.open("r+b") as f:
            f.seek(rng.randrange(0, max(1, size - 4096)))
            f.write(os.urandom(min(4096, size) or 1))
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    return len(chosen)


def children_cpu(agent: Agent) -> float:
    """CPU seconds of the agent's reaped children (its rsync processes)."""
    fields = Path(f"/proc/{agent.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / TICKS  # cutime, cstime


def timed(run: Callable[[], object]) -> float:
    start = time.monotonic()
    run()
    return time.monotonic() - start


def agent_pass(dialer: AgentDialer, source: Agent, target: Agent, src: Path, dst: Path) -> int:
    a, b = dialer.dial(source.address, "bench"), dialer.dial(target.address, "bench")
    transfer = FileTransfer(FileTree(path=str(src)), FileTree(path=str(dst)), allow_overwrite=True)
    results = [e for e in a.push_files(transfer, b) if isinstance(e, TransferResult)]
    return results[0].bytes


def rsync_ssh(ssh: list[str], src: Path, dst: Path) -> None:
    """The agent's own rsync options, with ssh as the remote shell."""
    argv = client_argv(str(src), ssh[:-2], checksum=False)  # ssh without host and command
    argv[-1] = f"{ssh[-2]}:{dst}/"
    subprocess.run(argv, check=True)


def tar_ssh(ssh: list[str], src: Path, dst: Path) -> None:
    dst.mkdir()
    tar = subprocess.Popen(["tar", "-C", str(src), "-cf", "-", "."], stdout=subprocess.PIPE)
    remote = [*ssh[:-1], f"tar -C {dst} -xf -"]
    subprocess.run(remote, stdin=tar.stdout, check=True)
    if tar.wait() != 0:
        raise RuntimeError("tar -c failed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gib", type=float, default=2.0)
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--change", type=float, default=0.01, help="fraction of files changed")
    parser.add_argument("--tls", action="store_true", help="agents talk mutual TLS")
    args = parser.parse_args()
    env = deployed_malloc_env()
    work = Path(tempfile.mkdtemp(prefix="sf-bench-files-", dir="/dev/shm"))
    total = int(args.size_gib * GiB)
    agents: list[Agent] = []
    if args.tls:
        src_flags, dst_flags, creds = tls_credentials(work)
        dialer = AgentDialer(creds)
    else:
        src_flags, dst_flags, dialer = ["--insecure"], ["--insecure"], AgentDialer()
    try:
        src = work / "src"
        started = time.monotonic()
        paths = generate(src, total, args.files)
        size = sum(p.stat().st_size for p in paths)
        print(
            f"tree: {len(paths)} files, {size / GiB:.2f} GiB in 100 directories on tmpfs "
            f"(written in {time.monotonic() - started:.1f} s); {os.cpu_count()} CPUs; agents "
            f"{'mutual TLS' if args.tls else 'plaintext'}, with {env}"
        )
        roots = ["--allowed-path-root", str(work)]
        source = start_agent(["-m", "stackferry.agent"], work, "src", [*src_flags, *roots], env)
        target = start_agent(["-m", "stackferry.agent"], work, "dst", [*dst_flags, *roots], env)
        agents += [source, target]
        with sshd(work) as ssh:
            full: dict[str, float] = {}
            sent = 0

            def agent_full() -> None:
                nonlocal sent
                sent = agent_pass(dialer, source, target, src, work / "agent")

            started_cpu = (source.cpu_seconds(), target.cpu_seconds())  # start-up, imports
            full["agent"] = timed(agent_full)
            after_full = (source.cpu_seconds(), target.cpu_seconds())
            cpu_full = (after_full[0] - started_cpu[0], after_full[1] - started_cpu[1])
            kids_full = (children_cpu(source), children_cpu(target))
            full["rsync/ssh"] = timed(lambda: rsync_ssh(ssh, src, work / "rsync"))
            full["tar/ssh"] = timed(lambda: tar_ssh(ssh, src, work / "tar"))
            shutil.rmtree(work / "tar")
            changed = change(paths, args.change)
            delta: dict[str, float] = {}
            delta_sent = 0

            def agent_delta() -> None:
                nonlocal delta_sent
                delta_sent = agent_pass(dialer, source, target, src, work / "agent")

            delta["agent"] = timed(agent_delta)
            cpu_delta = (
                source.cpu_seconds() - after_full[0],
                target.cpu_seconds() - after_full[1],
            )
            kids_delta = (children_cpu(source) - kids_full[0], children_cpu(target) - kids_full[1])
            delta["rsync/ssh"] = timed(lambda: rsync_ssh(ssh, src, work / "rsync"))
        print(f"\n{'pass':<6} {'transport':<10} {'seconds':>8} {'MB/s':>7} {'x agent':>8}")
        for name, seconds in full.items():
            print(
                f"{'full':<6} {name:<10} {seconds:8.2f} {size / seconds / 1e6:7.0f} "
                f"{seconds / full['agent']:8.2f}"
            )
        for name, seconds in delta.items():
            print(f"{'delta':<6} {name:<10} {seconds:8.2f} {'':>7} {seconds / delta['agent']:8.2f}")
        print(
            f"\nagent stream bytes: full {sent / 1e6:.0f} MB, delta {delta_sent / 1e6:.1f} MB "
            f"({changed} files changed by 4 KiB)"
        )
        for label, cpu, kids in (("full", cpu_full, kids_full), ("delta", cpu_delta, kids_delta)):
            print(
                f"agents' CPU s, {label} pass: source {cpu[0]:.2f} (+ rsync {kids[0]:.2f}), "
                f"target {cpu[1]:.2f} (+ rsync {kids[1]:.2f})"
            )
        print(
            f"agents' peak RSS: source {source.peak_rss_mb():.0f} MB, "
            f"target {target.peak_rss_mb():.0f} MB"
        )
        goals = (
            f"goals: full >= 1.2x faster than rsync/ssh: {full['rsync/ssh'] / full['agent']:.2f}x; "
            f"delta no slower: {delta['rsync/ssh'] / delta['agent']:.2f}x; RSS < 150 MB: "
            f"{max(source.peak_rss_mb(), target.peak_rss_mb()):.0f} MB"
        )
        print(goals)
    finally:
        dialer.close()
        for agent in agents:
            agent.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
