"""The e2e tier's way to reach a controller's HTTP API: a controller process with
--http-listen on a free loopback port, an httpx client on it, an SSE reader, and a check of
any response body against the controller's own /api/v1/openapi.json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from migration_world import ControllerProcess, World, launch_controller

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


class Schema:
    """Validates response bodies against one component of the served OpenAPI document."""

    def __init__(self, client: httpx.Client) -> None:
        self.document = client.get(OPENAPI).raise_for_status().json()

    def check(self, component: str, body: Any) -> Any:
        schema = {
            "$ref": f"#/components/schemas/{component}",
            "components": self.document["components"],
        }
        jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)
        return body

    def response(self, method: str, path: str, status: int) -> str:
        """The component the document names for that status of that operation."""
        operation = self.document["paths"][path][method.lower()]
        content = operation["responses"][str(status)]["content"]["application/json"]
        return str(content["schema"]["$ref"].rsplit("/", 1)[1])


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
