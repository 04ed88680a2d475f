"""`DEMO_DASHBOARD=1 make demo`: the demo's migration through the controller's HTTP API.

scripts/demo.py then starts a controller daemon with the HTTP API and dashboard on
127.0.0.1:8700 (DEMO_HTTP_PORT), its local_agent agent A and its default_target_dataset on
pool B, runs the specification's curl flow against it (create, start, poll /status) and leaves
the controller and both agents running, so the dashboard shows the migration. The next
`make demo` stops them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HTTP_PORT = int(os.environ.get("DEMO_HTTP_PORT", "8700"))
# Fixed ports, so the README's curl flow names the target agent as it is.
AGENT_PORTS = {"a": 7701, "b": 7702}
ENDED = ("COMPLETED", "FAILED", "CANCELLED", "ROLLED_BACK")


def wanted() -> bool:
    return os.environ.get("DEMO_DASHBOARD") == "1"


def start_controller(base: Path, bin_dir: Path, local_agent: str, target_dataset: str) -> str:
    """The controller daemon, in its own session so it outlives the demo; its dashboard URL."""
    ready = base / "controller.ready"
    argv = [
        str(bin_dir / "stackferry-controller"),
        *("--listen", "127.0.0.1:0", "--insecure", "--ready-file", str(ready)),
        *("--state-dir", str(base / "controller-state"), "--log-format", "json"),
        *("--http-listen", f"127.0.0.1:{HTTP_PORT}", "--local-agent", local_agent),
        *("--default-target-dataset", target_dataset),
    ]
    with (base / "controller.log").open("wb") as log:
        controller = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    (base / "controller.pid").write_text(str(controller.pid))
    deadline = time.monotonic() + 30
    while not ready.exists():
        if controller.poll() is not None or time.monotonic() > deadline:
            controller.kill()
            sys.exit(f"demo: the controller did not start; see {base / 'controller.log'}")
        time.sleep(0.05)
    return f"http://127.0.0.1:{HTTP_PORT}"


def call(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        sys.exit(f"demo: {method} {url}: {exc.code} {exc.read().decode(errors='replace')}")


def migrate(url: str, compose: Path, target_host: str, target_base: Path, project: str) -> int:
    """The specification's flow, each call printed as the curl line that does the same."""
    api = f"{url}/api/v1/migrations"
    body = {
        "name": "Demo shop migration",
        "compose_stack_path": str(compose),
        "target_host": target_host,
        "target_base_path": str(target_base),
        "use_zfs": True,
        "transfer_method": "zfs_send",
        "project_name": project,
    }
    print(f"$ curl -s -X POST {api} -H 'Content-Type: application/json' -d '{json.dumps(body)}'")
    migration = call("POST", api, body)
    print(
        f"  -> 201, id {migration['id']}, source {migration['spec']['source_agent']} (local_agent)"
    )
    print(f"$ curl -s -X POST {api}/{migration['id']}/start")
    call("POST", f"{api}/{migration['id']}/start")
    print(f"$ curl -s {api}/{migration['id']}/status   # every second, until it ends")
    while True:
        status = call("GET", f"{api}/{migration['id']}/status")
        step = status["current_step"] or {}
        print(
            f"  {status['status']:<20} {status['progress_percentage']:5.1f} %  "
            f"{step.get('name', ''):<18} {status['bytes_done'] / 2**20:7.1f} MiB",
            flush=True,
        )
        if status["status"] in ENDED:
            downtime = status["downtime_seconds"]
            if downtime is not None:
                print(f"  downtime: {downtime:.1f} s")
            return 0 if status["status"] == "COMPLETED" else 1
        time.sleep(1)
