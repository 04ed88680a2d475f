"""Merging `-f` files and `extends:` by the compose specification's rules, on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackferry.compose.project_files import LoadedProject, load_project


def _merged(tmp_path: Path, base: str, override: str) -> LoadedProject:
    (tmp_path / "base.yml").write_text(base)
    (tmp_path / "override.yml").write_text(override)
    return load_project([str(tmp_path / "base.yml"), str(tmp_path / "override.yml")])


def _service(tmp_path: Path, base: str, override: str) -> dict[str, object]:
    services = _merged(tmp_path, base, override).config()["services"]
    assert isinstance(services, dict)
    service = services["s"]
    assert isinstance(service, dict)
    return service


def _one(spec: str) -> str:
    """A one-service file; `spec` is the service body, indented by four."""
    return "services:\n  s:\n    image: x\n" + "".join(
        f"    {line}\n" for line in spec.splitlines()
    )


@pytest.mark.parametrize("field", ["command", "entrypoint"])
def test_commands_are_replaced_not_appended(tmp_path: Path, field: str) -> None:
    got = _service(tmp_path, _one(f"{field}: [a, b, c]"), _one(f"{field}: [d]"))
    assert got[field] == ["d"]


def test_healthcheck_test_is_replaced_and_the_rest_merges(tmp_path: Path) -> None:
    base = _one("healthcheck:\n  test: [CMD, a, b]\n  interval: 5s")
    got = _service(tmp_path, base, _one("healthcheck:\n  test: [CMD, c]"))
    assert got["healthcheck"] == {"test": ["CMD", "c"], "interval": "5s"}


def test_mappings_merge_by_key_whichever_form_each_file_uses(tmp_path: Path) -> None:
    base = _one("environment:\n  - A=1\n  - B=2\n  - C\nlabels:\n  x: '1'")
    got = _service(tmp_path, base, _one("environment:\n  B: three\nlabels:\n  - y=2"))
    assert got["environment"] == {"A": "1", "B": "three", "C": None}
    assert got["labels"] == {"x": "1", "y": "2"}


def test_sequences_append(tmp_path: Path) -> None:
    got = _service(tmp_path, _one("dns: [1.1.1.1]\ncap_add: [NET_ADMIN]"), _one("dns: [8.8.8.8]"))
    assert got["dns"] == ["1.1.1.1", "8.8.8.8"]
    again = _service(tmp_path, _one("cap_add: [A, B]\nexpose: ['80']"), _one("cap_add: [B, C]"))
    assert again["cap_add"] == ["A", "B", "C"]
    assert again["expose"] == ["80"]
    assert got["cap_add"] == ["NET_ADMIN"]


def test_volumes_are_unique_by_target(tmp_path: Path) -> None:
    base = _one(
        "volumes:\n  - ./a:/data\n  - type: bind\n    source: ./b\n    target: /b\n  - logs:/logs"
    )
    override = _one("volumes:\n  - type: bind\n    source: ./c\n    target: /data\n  - ./d:/d:ro")
    loaded = _merged(tmp_path, base, override)
    mounts = [(m.type, m.source, m.target, m.read_only) for m in loaded.model.mounts]
    assert mounts == [
        ("bind", f"{tmp_path}/c", "/data", False),
        ("bind", f"{tmp_path}/b", "/b", False),
        ("volume", "logs", "/logs", False),
        ("bind", f"{tmp_path}/d", "/d", True),
    ]


def test_ports_are_unique_by_ip_target_published_and_protocol(tmp_path: Path) -> None:
    base = _one('ports: ["80:80", "127.0.0.1:443:443", "53:53/udp"]')
    override = _one(
        'ports:\n  - "80:80"\n  - "0.0.0.0:443:443"\n  - "53:53/tcp"\n'
        "  - target: 80\n    published: '80'\n    protocol: tcp"
    )
    got = _service(tmp_path, base, override)
    # The long form names the same binding as "80:80": it replaces it in place.
    assert got["ports"] == [
        {"target": "80", "published": "80", "protocol": "tcp"},
        "127.0.0.1:443:443",
        "53:53/udp",
        "0.0.0.0:443:443",
        "53:53/tcp",
    ]


def test_secrets_and_configs_are_unique_by_target(tmp_path: Path) -> None:
    base = _one("secrets:\n  - token\n  - source: key\n    target: /run/k")
    override = _one("secrets:\n  - source: other\n    target: /run/k\n  - token")
    got = _service(tmp_path, base, override)
    assert got["secrets"] == ["token", {"source": "other", "target": "/run/k"}]


def test_reset_drops_what_earlier_files_set(tmp_path: Path) -> None:
    base = _one("ports: ['80:80']\nenvironment:\n  A: '1'\n  B: '2'\nvolumes: [./a:/a]")
    override = _one("ports: !reset []\nenvironment:\n  B: !reset\nvolumes: !reset null")
    loaded = _merged(tmp_path, base, override)
    got = _service(tmp_path, base, override)
    assert "ports" not in got and "volumes" not in got
    assert got["environment"] == {"A": "1"}
    assert loaded.model.ports == [] and loaded.model.mounts == []
    assert {"!reset"} <= loaded.required_features


def test_override_replaces_whole(tmp_path: Path) -> None:
    base = _one("environment:\n  A: '1'\nports: ['80:80']")
    override = _one("environment: !override\n  B: '2'\nports: !override ['81:81']")
    got = _service(tmp_path, base, override)
    assert got["environment"] == {"B": "2"}
    assert got["ports"] == ["81:81"]


def test_relative_paths_of_an_override_in_another_directory_resolve_against_the_project(
    tmp_path: Path,
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "base.yml").write_text(_one("volumes: [./a:/a]"))
    (tmp_path / "conf/prod.yml").write_text(_one("volumes: [./b:/b]"))
    loaded = load_project([str(tmp_path / "base.yml"), str(tmp_path / "conf/prod.yml")])
    assert [b.source for b in loaded.model.binds] == [f"{tmp_path}/a", f"{tmp_path}/b"]


def test_extends_in_the_same_file_and_chained(tmp_path: Path) -> None:
    (tmp_path / "c.yml").write_text(
        "services:\n"
        "  root:\n    image: r\n    environment: {A: '1'}\n    volumes: [./r:/r]\n"
        "  mid:\n    extends: root\n    environment: {B: '2'}\n"
        "  leaf:\n    extends: {service: mid}\n    image: l\n    command: [run]\n"
    )
    loaded = load_project([str(tmp_path / "c.yml")])
    leaf = loaded.config()["services"]["leaf"]  # type: ignore[index]
    assert leaf == {
        "image": "l",
        "environment": {"A": "1", "B": "2"},
        "volumes": [f"{tmp_path}/r:/r"],
        "command": ["run"],
    }


def test_an_extends_cycle_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "c.yml").write_text(
        "services:\n  a:\n    image: x\n    extends: b\n  b:\n    image: y\n    extends: a\n"
    )
    with pytest.raises(ValueError, match="extends has a cycle"):
        load_project([str(tmp_path / "c.yml")])


def test_a_string_and_a_list_merge_as_lists_and_build_as_a_mapping(tmp_path: Path) -> None:
    base = _one("env_file: a.env\nbuild: ./app\ndns: 1.1.1.1")
    override = _one("env_file: [b.env]\nbuild:\n  dockerfile: Prod.Dockerfile\ndns: [9.9.9.9]")
    for name in ("a.env", "b.env"):
        (tmp_path / name).write_text("")
    got = _service(tmp_path, base, override)
    assert got["env_file"] == [f"{tmp_path}/a.env", f"{tmp_path}/b.env"]
    assert got["build"] == {"context": f"{tmp_path}/app", "dockerfile": "Prod.Dockerfile"}
    assert got["dns"] == ["1.1.1.1", "9.9.9.9"]
