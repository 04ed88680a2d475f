"""The e2e tier's way to reach a controller's HTTP API: a controller process with
--http-listen on a free loopback port, an httpx client on it, an SSE reader, and a check of
any response body against the controller's own /api/v1/openapi.json."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from migration_world import ControllerProcess, World, containers, launch_controller

OPENAPI = "/api/v1/openapi.json"


@dataclass
class HttpController:
    process: ControllerProcess
    url: str

    def stop(self) -> None:
        self.process.stop()


def http_url(process: ControllerProcess) -> str:
    """The URL the controller's "http api listening" log line names."""
    for line in process.log().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("event") == "http api listening":
            return str(entry["url"])
    raise AssertionError(f"the controller logged no HTTP URL:\n{process.log()}")


def launch_http_controller(
    tmp_path: Path, *extra: str, world: World | None = None, insecure: bool = True
) -> HttpController:
    """A controller process serving HTTP on 127.0.0.1:0; with a world, its local_agent is the
    world's source agent and its default_target_dataset the world's target dataset."""
    flags = ["--http-listen", "127.0.0.1:0", *extra]
    if world is not None:
        flags += [
            "--local-agent",
            world.source.address,
            "--default-target-dataset",
            world.target_dataset,
        ]
    n = len(list(tmp_path.glob("http-controller-*.log")))
    process = launch_controller(
        tmp_path / f"http-controller-{n}-state",
        tmp_path / f"http-controller-{n}.log",
        extra=tuple(flags),
        insecure=insecure,
    )
    return HttpController(process, http_url(process))


def end_the_waiting_deploy(world: World) -> None:
    """Kills the stack's containers on the target, once a cancel is recorded while the deploy
    waits for a target that never gets healthy: the deploy sees them fail at its next look, as
    it would see them unhealthy once the health check gives up (after a minute), and the
    cancel's rollback follows the same way."""
    deadline = time.monotonic() + 60
    while not (running := containers(world.docker_b, world.project, running_only=True)):
        assert time.monotonic() < deadline, "the deploy started no container on the target"
        time.sleep(0.1)
    for container in running:
        subprocess.run(
            ["docker", "-H", world.docker_b, "kill", container.name],
            check=True,
            capture_output=True,
            timeout=60,
        )


class Schema:
    """Validates bodies against the served OpenAPI document: a response against what the
    document says its operation answers with that status, an SSE entry against a component."""

    def __init__(self, client: httpx.Client) -> None:
        self.document = client.get(OPENAPI).raise_for_status().json()

    def _validate(self, schema: dict[str, Any], body: Any) -> Any:
        whole = {**schema, "components": self.document["components"]}
        jsonschema.validate(body, whole, cls=jsonschema.Draft202012Validator)
        return body

    def check(self, component: str, body: Any) -> Any:
        return self._validate({"$ref": f"#/components/schemas/{component}"}, body)

    def reply(self, response: httpx.Response) -> Any:
        """The JSON body of `response`, valid for what the document says its operation (path
        and method) answers with its status."""
        operation = self._operation(response.request.method.lower(), response.request.url.path)
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, f"undocumented {response.status_code}: {response.text}"
        schema = documented["content"]["application/json"]["schema"]
        return self._validate(schema, response.json())

    def _operation(self, method: str, path: str) -> dict[str, Any]:
        paths = self.document["paths"]
        if method in paths.get(path, {}):  # a literal path wins over a template
            return dict(paths[path][method])
        for template, operations in paths.items():
            pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template))
            if method in operations and re.fullmatch(pattern, path):
                return dict(operations[method])
        raise AssertionError(f"the document has no {method.upper()} {path}")


def sse_events(
    client: httpx.Client, path: str, last_event_id: int = 0
) -> Iterator[tuple[str, str, str]]:
    """(id, event, data) of each Server-Sent Event on `path` until the server closes it."""
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id else {}
    with client.stream("GET", path, headers=headers, timeout=None) as response:
        assert response.status_code == 200, response.read()
        fields: dict[str, str] = {}
        for line in response.iter_lines():
            if not line:
                if fields:
                    yield fields.get("id", ""), fields.get("event", "message"), fields["data"]
                fields = {}
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
