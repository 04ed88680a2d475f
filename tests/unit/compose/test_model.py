"""compose/model.py: the agent's view of a compose file: images, bind mounts, ports."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackferry.compose import BindMount, ComposeError, PortBinding, load_compose

COMPOSE = """
services:
  web:
    image: local/busybox:${TAG:-1}
    volumes:
      - ${DATA}/www:/www:ro
      - ./conf:/conf
      - ~/cache:/cache
      - named:/named
      - devbound:/dev-bound
      - /anonymous
      - type: bind
        source: /srv/long
        target: /long
    ports:
      - "8080:80"
      - 127.0.0.1:9000-9001:90/udp
      - 22:22
      - "3000"
      - target: 80
        published: 8443
        host_ip: 127.0.0.2
  worker:
    build: .
volumes:
  named: {}
  devbound:
    driver_opts: {type: none, o: bind, device: /srv/device}
"""


def test_binds_resolved_against_project_dir_env_and_driver_opts() -> None:
    compose = load_compose(COMPOSE, "DATA=/data/app\n", "/stacks/My App", home="/home/u")
    assert compose.project_name == "myapp"
    assert compose.binds == [
        BindMount("web", "/data/app/www", "/www"),
        BindMount("web", "/stacks/My App/conf", "/conf"),
        BindMount("web", "/home/u/cache", "/cache"),
        BindMount("web", "/srv/device", "/dev-bound"),
        BindMount("web", "/srv/long", "/long"),
    ]


def test_binds_of_the_driver_opts_golden_case_and_of_defaults() -> None:
    compose = (Path(__file__).parent / "golden" / "driver_opts_device" / "compose.yml").read_text()
    assert load_compose(compose, "", "/opt/db").binds == [
        BindMount("db", "/tank/pg/data", "/var/lib/postgresql/data"),
        BindMount("db", "/tank/pg/wal", "/wal"),
    ]
    compose = "services:\n  a:\n    volumes: ['${D:-./d}:/c:ro', ~/h:/h, n:/n, /x]\n"
    assert load_compose(compose, "", "/p", home="/home/u").binds == [
        BindMount("a", "/p/d", "/c"),
        BindMount("a", "/home/u/h", "/h"),
    ]


def test_ports_short_long_ranges_and_unpublished() -> None:
    compose = load_compose(COMPOSE, "", "/stacks/app")
    assert compose.ports == [
        PortBinding("", 8080, "tcp"),
        PortBinding("127.0.0.1", 9000, "udp"),
        PortBinding("127.0.0.1", 9001, "udp"),
        PortBinding("", 22, "tcp"),  # not read as the YAML 1.1 sexagesimal 1342
        PortBinding("127.0.0.2", 8443, "tcp"),
    ]
    assert [str(p) for p in compose.services[0].ports][:1] == ["8080/tcp"]


def test_images_skip_build_only_services() -> None:
    compose = load_compose(COMPOSE, "TAG=7", "/stacks/app")
    assert compose.images == ["local/busybox:7"]
    assert [s.name for s in compose.services] == ["web", "worker"]


ALTERNATIVES = """
services:
  web:
    image: local/busybox${TAG:+:$TAG}
    ports: ["${PORT:+$PORT:}80"]
    volumes:
      - ${LOGS:-./logs}${LOGS:+/web}:/logs
      - ${CACHE+/srv/cache}${CACHE-cache}:/cache
"""


def test_alternative_values_when_the_variables_are_set() -> None:
    compose = load_compose(ALTERNATIVES, "TAG=7\nPORT=8080\nLOGS=/srv/logs\nCACHE=\n", "/p")
    assert compose.images == ["local/busybox:7"]
    assert compose.ports == [PortBinding("", 8080, "tcp")]
    assert compose.binds == [
        BindMount("web", "/srv/logs/web", "/logs"),
        BindMount("web", "/srv/cache", "/cache"),  # `+` without `:`: set, even empty
    ]


def test_alternative_values_when_the_variables_are_unset_or_empty() -> None:
    compose = load_compose(ALTERNATIVES, "TAG=\nLOGS=\n", "/p")
    assert compose.images == ["local/busybox"]
    assert compose.ports == []  # only a container port
    assert compose.binds == [BindMount("web", "/p/logs", "/logs")]  # `cache` is a named volume


def test_a_required_variable_that_is_not_set_names_the_line() -> None:
    text = "services:\n  web:\n    image: x\n    environment:\n      D: ${DATA:?need data}\n"
    with pytest.raises(ComposeError, match="DATA is not set: need data") as raised:
        load_compose(text, "", "/x/app")
    assert raised.value.line == 5


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(ComposeError, match="line 3: not valid YAML at column 13"):
        load_compose("services:\n  web:\n    image: a: b\n", "", "/x/app")


def test_document_without_services_is_refused() -> None:
    with pytest.raises(ComposeError, match="no services:"):
        load_compose("version: '3'\n", "", "/x/app")


def test_bad_published_port_names_the_entry() -> None:
    with pytest.raises(ComposeError, match=r"services.web.ports\[0\]: bad published port 'x'"):
        load_compose("services:\n  web:\n    ports: ['x:80']\n", "", "/x/app")
