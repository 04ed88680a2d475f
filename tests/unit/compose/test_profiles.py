"""Profiles, stop_grace_period and depends_on order, as compose reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackferry.compose import ComposeError
from stackferry.compose.profiles import parse_duration, profiles_of_running, start_waves
from stackferry.compose.project_files import load_project

COMPOSE = """services:
  web:
    image: w
    depends_on:
      api: {condition: service_healthy}
    stop_grace_period: 1m30s
  api:
    image: a
    depends_on: [db, cache]
  db:
    image: d
    stop_grace_period: 500ms
  cache:
    image: c
    profiles: [fast]
  tools:
    image: t
    profiles: [debug, ops]
"""


def _load(tmp_path: Path, dot_env: str = "", **kwargs: object) -> list[str]:
    (tmp_path / "compose.yml").write_text(COMPOSE)
    (tmp_path / ".env").write_text(dot_env)
    loaded = load_project([str(tmp_path / "compose.yml")], **kwargs)  # type: ignore[arg-type]
    return [s.name for s in loaded.model.services]


def test_services_without_profiles_are_always_active(tmp_path: Path) -> None:
    assert _load(tmp_path) == ["web", "api", "db"]


def test_compose_profiles_from_dot_env_the_environment_or_explicit(tmp_path: Path) -> None:
    assert _load(tmp_path, "COMPOSE_PROFILES=fast\n") == ["web", "api", "db", "cache"]
    environ = {"HOME": "/root", "COMPOSE_PROFILES": "ops, fast"}
    assert _load(tmp_path, "COMPOSE_PROFILES=\n", environ=environ) == [
        "web", "api", "db", "cache", "tools",
    ]  # fmt: skip
    assert _load(tmp_path, "COMPOSE_PROFILES=fast\n", profiles=["debug"]) == [
        "web", "api", "db", "tools",
    ]  # fmt: skip
    assert _load(tmp_path, profiles=["*"]) == ["web", "api", "db", "cache", "tools"]


def test_stop_order_is_dependents_first_and_grace_periods_are_seconds(tmp_path: Path) -> None:
    (tmp_path / "compose.yml").write_text(COMPOSE)
    loaded = load_project([str(tmp_path / "compose.yml")], profiles=["fast"])
    assert loaded.stop_order() == ["web", "api", "db", "cache"]
    assert loaded.start_order() == ["cache", "db", "api", "web"]
    grace = {name: info.stop_grace_seconds for name, info in loaded.services.items()}
    assert grace == {"web": 90.0, "api": 10.0, "db": 0.5, "cache": 10.0, "tools": 10.0}


def test_services_start_in_waves_each_after_what_it_depends_on(tmp_path: Path) -> None:
    (tmp_path / "compose.yml").write_text(COMPOSE)
    loaded = load_project([str(tmp_path / "compose.yml")], profiles=["fast", "debug"])
    names = loaded.start_order()
    assert start_waves(loaded.services, names) == [["cache", "db", "tools"], ["api"], ["web"]]
    # A dependency that is not started is not waited for.
    assert start_waves(loaded.services, ["api", "web"]) == [["api"], ["web"]]
    assert start_waves(loaded.services, ["web", "tools"]) == [["tools", "web"]]
    assert start_waves(loaded.services, []) == []


def test_stop_order_leaves_out_inactive_services(tmp_path: Path) -> None:
    (tmp_path / "compose.yml").write_text(COMPOSE)
    assert load_project([str(tmp_path / "compose.yml")]).stop_order() == ["web", "api", "db"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10.0), ("1m30s", 90.0), ("1.5h", 5400.0), ("250ms", 0.25), ("3", 3.0), ("2m", 120.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "x") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "ten", "10 s", "1x", "s"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ComposeError, match="is not a duration"):
        parse_duration(text, "services.a.stop_grace_period")


def test_a_dependency_cycle_and_an_unknown_dependency_are_errors(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text(
        "services:\n  a:\n    image: x\n    depends_on: [b]\n"
        "  b:\n    image: y\n    depends_on: [a]\n"
    )
    with pytest.raises(ComposeError, match="depends_on has a cycle: a -> b -> a"):
        load_project([str(compose)]).stop_order()
    compose.write_text("services:\n  a:\n    image: x\n    depends_on: [nope]\n")
    with pytest.raises(ComposeError, match="services.a.depends_on: no service 'nope'"):
        load_project([str(compose)])


def test_a_bad_grace_period_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "compose.yml").write_text("services:\n  a:\n    image: x\n")
    (tmp_path / "prod.yml").write_text("services:\n  a:\n    stop_grace_period: soon\n")
    with pytest.raises(ComposeError, match=r"prod.yml:3: services.a.stop_grace_period: 'soon'"):
        load_project([str(tmp_path / "compose.yml"), str(tmp_path / "prod.yml")])


def test_the_profiles_that_make_the_running_services_active(tmp_path: Path) -> None:
    (tmp_path / "compose.yml").write_text(COMPOSE)
    loaded = load_project([str(tmp_path / "compose.yml")], profiles=["*"])
    assert profiles_of_running(loaded.services, ["web", "cache", "gone"]) == {"fast"}
    assert profiles_of_running(loaded.services, ["web", "tools"]) == {"debug"}
    reloaded = load_project([str(tmp_path / "compose.yml")], profiles=["fast"])
    assert {"web", "cache"} <= set(reloaded.active_services)
