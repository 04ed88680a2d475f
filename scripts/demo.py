"""`make demo`: a real migration of a running compose stack from "host A" to "host B".

Runs as root after scripts/start-services.sh (zfs-fuse and the two Docker engines). Under
/var/tmp/stackferry-demo it makes two file-backed zfs-fuse pools, starts a sample stack on
engine A (a writer that keeps appending to a file and a web server, both on a ZFS dataset,
and a db keeping its data in a named volume),
starts one agent per engine on loopback, runs `stackferry migrate` with its live progress, and
shows the stack now running on engine B, reading its data through the container there.

Re-running it first tears down the previous demo. The agents stop at the end; the migrated
stack stays on B for you to look at (the next run removes it). With DEMO_DASHBOARD=1 the
migration goes through a controller's HTTP API instead, and the controller (its dashboard)
and the agents stay running: see scripts/demo_dashboard.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import demo_dashboard

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".venv" / "bin"
BASE = Path("/var/tmp/stackferry-demo")
DOCKER_A = "unix:///var/run/docker.sock"
DOCKER_B = "unix:///run/stackferry-hostb/docker.sock"
POOL_A, POOL_B = "sfdemo_a", "sfdemo_b"
PROJECT = "sfdemo"
IMAGE = "local/busybox:1"

COMPOSE = """\
# stackferry demo: a writer appends a line every 100 ms, a web server serves the same data.
services:
  writer:
    image: {image}
    command:
      - sh
      - -c
      - "trap 'exit 0' TERM; while true; do date >> /data/log.txt; sleep 0.1; done"
    volumes:
      - {data}:/data
  web:
    image: {image}
    command: ["httpd", "-f", "-p", "8080", "-h", "/data"]
    # httpd as PID 1 ignores SIGTERM; killing a read-only server loses nothing and keeps the
    # migration's downtime short.
    stop_signal: SIGKILL
    volumes:
      - {data}:/data:ro
  db:
    image: {image}
    command:
      - sh
      - -c
      - "trap 'exit 0' TERM; [ -f /var/lib/db/orders.db ] || echo '{order}' > /var/lib/db/orders.db;
        while true; do date >> /var/lib/db/journal.txt; sleep 0.1; done"
    volumes:
      - orders:/var/lib/db  # a named volume, off ZFS: the file mover takes it
volumes:
  orders: {{}}
"""
ORDER = "order 1: three apples, kept in a named volume"
VOLUME = f"{PROJECT}_orders"


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


def run(*argv: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    if check and done.returncode != 0:
        sys.exit(f"demo: {' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def remove_project(docker_host: str) -> None:
    label = f"label=com.docker.compose.project={PROJECT}"
    ids = run("docker", "-H", docker_host, "ps", "-aq", "--filter", label).split()
    if ids:
        run("docker", "-H", docker_host, "rm", "-f", *ids)
    networks = run("docker", "-H", docker_host, "network", "ls", "-q", "--filter", label).split()
    if networks:
        run("docker", "-H", docker_host, "network", "rm", *networks)
    run("docker", "-H", docker_host, "volume", "rm", "-f", VOLUME)


def stop_previous_agents() -> None:
    for pid_file in BASE.glob("*.pid"):  # the agents, and a dashboard demo's controller
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        pid_file.unlink()


def destroy_pool(name: str) -> None:
    for _ in range(50):
        done = subprocess.run(["zpool", "destroy", "-f", name], capture_output=True, text=True)
        if done.returncode == 0 or "no such pool" in done.stderr:
            return
        time.sleep(0.2)
    sys.exit(f"demo: cannot destroy the previous demo's pool {name}: {done.stderr}")


def tear_down_previous() -> None:
    say("removing the previous demo, if any")
    stop_previous_agents()
    for host in (DOCKER_A, DOCKER_B):
        remove_project(host)
    for pool in (POOL_A, POOL_B):
        destroy_pool(pool)
    shutil.rmtree(BASE, ignore_errors=True)


def make_pools() -> None:
    say("creating two file-backed zfs-fuse pools (host A and host B)")
    (BASE / "images").mkdir(parents=True)
    for pool, label in ((POOL_A, "a"), (POOL_B, "b")):
        image = BASE / "images" / f"{label}.img"
        run("truncate", "-s", "512M", str(image))
        run("zpool", "create", "-m", str(BASE / f"pool-{label}"), pool, str(image))


def start_stack() -> Path:
    dataset = f"{POOL_A}/shop"
    say(f"starting the sample stack '{PROJECT}' on host A, its data on {dataset}")
    run("zfs", "create", dataset)
    stack_dir = BASE / "pool-a" / "shop"
    data = stack_dir / "data"
    data.mkdir()
    (data / "index.html").write_text("<h1>Hello from the stack that moved</h1>\n")
    with (data / "catalogue.bin").open("wb") as blob:
        for _ in range(64):
            blob.write(os.urandom(1 << 20))
    compose = stack_dir / "docker-compose.yml"
    compose.write_text(COMPOSE.format(image=IMAGE, data=data, order=ORDER))
    run(
        "docker-compose",
        "-p",
        PROJECT,
        "-f",
        str(compose),
        "up",
        "-d",
        env={"DOCKER_HOST": DOCKER_A},
    )
    return compose


def start_agent(label: str, pool: str, docker_host: str) -> tuple[subprocess.Popen[bytes], str]:
    ready = BASE / f"agent-{label}.ready"
    log = (BASE / f"agent-{label}.log").open("wb")
    dashboard = demo_dashboard.wanted()
    port = demo_dashboard.AGENT_PORTS[label] if dashboard else 0
    agent = subprocess.Popen(
        [
            str(BIN / "stackferry-agent"),
            *("--listen", f"127.0.0.1:{port}", "--insecure", "--ready-file", str(ready)),
            *("--allowed-dataset-root", pool, "--allowed-path-root", str(BASE)),
            *("--docker-host", docker_host, "--state-dir", str(BASE / f"agent-{label}-state")),
            *("--log-format", "json"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=dashboard,  # the dashboard demo leaves the agents running
    )
    (BASE / f"agent-{label}.pid").write_text(str(agent.pid))
    deadline = time.monotonic() + 30
    while not ready.exists():
        if agent.poll() is not None or time.monotonic() > deadline:
            agent.kill()
            sys.exit(f"demo: agent {label} did not start; see {BASE / f'agent-{label}.log'}")
        time.sleep(0.05)
    return agent, ready.read_text().strip()


def show_result(code: int) -> None:
    label = f"label=com.docker.compose.project={PROJECT}"
    fmt = "table {{.Names}}\t{{.Status}}\t{{.Mounts}}"
    for name, host in (("host A", DOCKER_A), ("host B", DOCKER_B)):
        say(f"containers of '{PROJECT}' on {name}")
        print(run("docker", "-H", host, "ps", "-a", "--filter", label, "--format", fmt))
    if code != 0:
        return
    writer = run(
        "docker",
        "-H",
        DOCKER_B,
        "ps",
        "-q",
        "--filter",
        label,
        "--filter",
        "label=com.docker.compose.service=writer",
    ).split()
    if writer:
        say("reading the migrated data through the container on host B")
        print(run("docker", "-H", DOCKER_B, "exec", writer[0], "cat", "/data/index.html"), end="")
        lines = run("docker", "-H", DOCKER_B, "exec", writer[0], "wc", "-l", "/data/log.txt")
        print(f"log.txt on B: {lines.split()[0]} lines, still growing (the writer runs on B now)")
    say(f"reading the named volume {VOLUME} through the db container on host B")
    db = run("docker", "-H", DOCKER_B, "ps", "-q", "--filter", label, "--filter",
             "label=com.docker.compose.service=db").split()  # fmt: skip
    order = (
        run("docker", "-H", DOCKER_B, "exec", db[0], "cat", "/var/lib/db/orders.db") if db else ""
    )
    if order.strip() != ORDER:
        sys.exit(f"demo: the named volume did not arrive on host B (orders.db: {order!r})")
    print(order, end="")


def dashboard_demo(compose: Path, address_a: str, address_b: str) -> int:
    say("starting a controller with the HTTP API and dashboard (agent A is its local agent)")
    url = demo_dashboard.start_controller(BASE, BIN, address_a, f"{POOL_B}/migrated")
    print(f"dashboard: {url}/", flush=True)
    time.sleep(1)  # let the writer write a little before the copy starts
    say("the specification's HTTP flow: create, start, poll the status")
    code = demo_dashboard.migrate(url, compose, address_b, BASE / "host-b", PROJECT)
    show_result(code)
    say(f"the dashboard stays up at {url}/ (controller and agents keep running; logs in {BASE})")
    print("`make demo` again stops them and starts over")
    return code


def main() -> int:
    if os.geteuid() != 0:
        sys.exit("demo: run as root (zfs-fuse and the Docker engines need it)")
    tear_down_previous()
    make_pools()
    compose = start_stack()
    say("starting one agent per host on loopback")
    agents = [start_agent("a", POOL_A, DOCKER_A), start_agent("b", POOL_B, DOCKER_B)]
    (_, address_a), (_, address_b) = agents
    print(f"agent A at {address_a} (engine {DOCKER_A})\nagent B at {address_b} (engine {DOCKER_B})")
    if demo_dashboard.wanted():
        return dashboard_demo(compose, address_a, address_b)
    try:
        time.sleep(1)  # let the writer write a little before the copy starts
        say(f"stackferry migrate: {compose} from host A to host B")
        argv = [
            str(BIN / "stackferry"),
            "migrate",
            *("--from", address_a, "--to", address_b, "--compose", str(compose)),
            *("--target-dataset", f"{POOL_B}/migrated", "--target-base", str(BASE / "host-b")),
            *("--project-name", PROJECT, "--insecure"),
        ]
        env = {**os.environ, "STACKFERRY_STATE_DIR": str(BASE / "controller-state")}
        say("stackferry plan: every mount and how it moves")
        subprocess.run([argv[0], "plan", *argv[2:]], env=env, check=False)
        print("$ " + " ".join(argv), flush=True)
        code = subprocess.run(argv, env=env, check=False).returncode
        show_result(code)
    finally:
        say("stopping the agents")
        for agent, _ in agents:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=30)
        for pid_file in BASE.glob("agent-*.pid"):
            pid_file.unlink()
    if code == 0:
        say(f"done: '{PROJECT}' now runs on host B ({DOCKER_B}); `make demo` again starts over")
    else:
        say(f"the migration did not complete (exit {code}); agent logs are in {BASE}")
    return code


if __name__ == "__main__":
    sys.exit(main())
