"""agent/compose_file.py: .env parsing, interpolation, project names, binds, ports, images."""

from __future__ import annotations

import pytest

from stackferry.agent.compose_file import (
    BindMount,
    PortBinding,
    interpolate,
    load_compose,
    normalise_project_name,
    parse_env,
)
from stackferry.agent.errors import InvalidArgument

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


def test_parse_env_handles_comments_quotes_and_export() -> None:
    env = parse_env("# c\n\nA=1\nexport B=\"two words\"\nC='x'\nD=v # note\nnoequals\n")
    assert env == {"A": "1", "B": "two words", "C": "x", "D": "v"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}", "a"),
        ("$A/x", "a/x"),
        ("${MISSING:-def}", "def"),
        ("${EMPTY:-def}", "def"),
        ("${EMPTY-def}", ""),
        ("${MISSING-def}", "def"),
        ("$$A", "$A"),
        ("${MISSING}", ""),
    ],
)
def test_interpolate_like_compose(text: str, expected: str) -> None:
    assert interpolate(text, {"A": "a", "EMPTY": ""}) == expected


def test_interpolate_required_variable_missing_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgument, match="DATA is not set: need data"):
        interpolate("${DATA:?need data}", {})


def test_binds_resolved_against_project_dir_env_and_driver_opts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", "/home/u")
    compose = load_compose(COMPOSE, "DATA=/data/app\n", "/stacks/My App")
    assert compose.project_name == "myapp"
    assert compose.binds == [
        BindMount("web", "/data/app/www", "/www"),
        BindMount("web", "/stacks/My App/conf", "/conf"),
        BindMount("web", "/home/u/cache", "/cache"),
        BindMount("web", "/srv/device", "/dev-bound"),
        BindMount("web", "/srv/long", "/long"),
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


@pytest.mark.parametrize(
    ("explicit", "text", "env", "expected"),
    [
        (
            "Given_Name",
            "name: declared\nservices: {}",
            "COMPOSE_PROJECT_NAME=envname",
            "given_name",
        ),
        ("", "name: Declared\nservices: {}", "COMPOSE_PROJECT_NAME=envname", "declared"),
        ("", "services: {}", "COMPOSE_PROJECT_NAME=envname", "envname"),
        ("", "services: {}", "", "dir-name_1"),
    ],
)
def test_project_name_precedence(explicit: str, text: str, env: str, expected: str) -> None:
    assert load_compose(text, env, "/x/Dir-Name_1", explicit).project_name == expected


def test_normalise_project_name_like_compose() -> None:
    assert normalise_project_name("_My.App-2") == "myapp-2"


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(InvalidArgument, match="line 3, column 13"):
        load_compose("services:\n  web:\n    image: a: b\n", "", "/x/app")


def test_document_without_services_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="no `services:` mapping"):
        load_compose("version: '3'\n", "", "/x/app")


def test_unusable_project_name_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="invalid project name"):
        load_compose("services: {}", "", "/x/...")
