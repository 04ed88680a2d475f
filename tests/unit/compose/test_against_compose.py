"""The merged model against the real docker-compose on this machine (`config`, no daemon
needed): what stackferry reads of a project is what compose itself makes of it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackferry.compose.project_files import default_files, load_project
from tests.conftest import missing_service

PROJECT = {
    "app/docker-compose.yml": """# base
services:
  web:
    image: "nginx:${TAG:-latest}"
    command: ["nginx", "-g", "daemon off;"]
    env_file: web.env
    volumes:
      - ./html:/usr/share/nginx/html:ro
      - type: bind
        source: ./conf
        target: /etc/nginx/conf.d
    ports: ["8080:80"]
    environment: [MODE=base, KEEP=yes]
    depends_on: [db]
    cap_add: [NET_ADMIN]
  db:
    extends:
      file: ../shared/base.yml
      service: database
    environment:
      POSTGRES_DB: app
""",
    "app/docker-compose.override.yml": """# override
services:
  web:
    command: ["nginx-debug"]
    environment:
      MODE: override
    volumes:
      - ./logs:/var/log/nginx
      - ./html-dev:/usr/share/nginx/html
    ports: ["8080:80", "127.0.0.1:8443:443"]
    cap_add: [NET_ADMIN, SYS_TIME]
""",
    "app/conf/prod.yml": """# a -f file in another directory: its paths are against the project's
services:
  web:
    volumes: [./prod-data:/data]
    environment: [EXTRA=1]
""",
    "shared/base.yml": """services:
  database:
    image: postgres:16
    volumes:
      - ./initdb:/docker-entrypoint-initdb.d:ro
    environment:
      POSTGRES_USER: app
""",
    "app/.env": "TAG=1.25\n",
    "app/web.env": "# compose config inlines these into environment: none here\n",
}


def _compose_config(project_dir: Path, files: list[str]) -> dict[str, dict[str, Any]]:
    binary = shutil.which("docker-compose")
    if binary is None:
        missing_service("docker-compose", "scripts/install-system.sh")
    assert binary is not None
    argv = [binary, *(a for f in files for a in ("-f", f)), "config"]
    done = subprocess.run(argv, cwd=project_dir, capture_output=True, text=True, check=True)
    services = yaml.safe_load(done.stdout)["services"]
    assert isinstance(services, dict)
    return services


def _binds(spec: dict[str, Any]) -> set[tuple[str, str]]:
    found = set()
    for entry in spec.get("volumes", []):
        if isinstance(entry, str):
            source, target = entry.split(":")[:2]
        else:
            source, target = entry["source"], entry["target"]
        found.add((source, target))
    return found


@pytest.mark.parametrize(
    "files",
    [[], ["docker-compose.yml", "conf/prod.yml"]],
    ids=["default files", "-f base -f prod"],
)
def test_the_merged_project_is_what_docker_compose_makes_of_it(
    tmp_path: Path, files: list[str]
) -> None:
    for name, text in PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    app = tmp_path / "app"
    theirs = _compose_config(app, files)
    paths = [str(app / f) for f in files] or list(default_files(str(app), variant="v1"))
    ours = load_project(paths)
    config: dict[str, dict[str, Any]] = ours.config()["services"]  # type: ignore[assignment]
    assert sorted(theirs) == sorted(s.name for s in ours.model.services)
    for service in ours.model.services:
        spec = theirs[service.name]
        mine = config[service.name]
        assert service.image == spec["image"]
        assert {(m.source, m.target) for m in service.mounts} == _binds(spec)
        assert mine.get("environment") == spec.get("environment")
        assert set(mine.get("cap_add", [])) == set(spec.get("cap_add", []))
        assert mine.get("command") == spec.get("command")
        published = {
            str(p["published"]) if isinstance(p, dict) else p.split(":")[-2]
            for p in spec.get("ports", [])
        }
        assert {str(p.port) for p in service.ports} == published
