"""The files an operator installs: systemd units that systemd accepts, and configuration
examples and docs that list exactly the keys the code reads."""

from __future__ import annotations

import configparser
import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import missing_service

from stackferry.agent.config import AgentConfig
from stackferry.common.config_loader import load_config
from stackferry.controller.config import ControllerConfig

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
CONFIGS: dict[str, type[AgentConfig] | type[ControllerConfig]] = {
    "agent": AgentConfig,
    "controller": ControllerConfig,
}
# Options that give a service its own mount namespace: mounts made inside it (zfs receive,
# zfs mount) would be invisible to dockerd, so the agent must not use any of them.
MOUNT_NAMESPACE_OPTIONS = {
    "ProtectSystem",
    "ProtectHome",
    "PrivateTmp",
    "PrivateDevices",
    "PrivateMounts",
    "ReadWritePaths",
    "ReadOnlyPaths",
    "InaccessiblePaths",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectProc",
    "MountFlags",
    "TemporaryFileSystem",
    "BindPaths",
}


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """[section] -> key -> every value the key is given (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (UNITS / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def test_systemd_accepts_both_units(tmp_path: Path) -> None:
    """`systemd-analyze verify` in a scratch root where /opt/stackferry/venv exists."""
    if not shutil.which("systemd-analyze"):
        missing_service("systemd-analyze", "scripts/install-system.sh")
    bin_dir = tmp_path / "opt/stackferry/venv/bin"
    bin_dir.mkdir(parents=True)
    for command in ("stackferry-agent", "stackferry-controller"):
        (bin_dir / command).write_text("#!/bin/sh\n")
        (bin_dir / command).chmod(0o755)
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    names = sorted(p.name for p in UNITS.glob("*.service"))
    assert names == ["stackferry-agent.service", "stackferry-controller.service"]
    for name in names:
        shutil.copy(UNITS / name, tmp_path / "etc/systemd/system" / name)
    verify = subprocess.run(
        ["systemd-analyze", "verify", f"--root={tmp_path}", *names],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    # Unknown keys and unparsable values are only warnings: any line about our units fails.
    about_ours = [line for line in verify.stderr.splitlines() if "stackferry-" in line]
    assert verify.returncode == 0, verify.stderr
    assert about_ours == []


@pytest.mark.parametrize("name", ["agent", "controller"])
def test_units_run_the_venv_with_the_etc_config_and_restart_on_failure(name: str) -> None:
    service = unit(f"stackferry-{name}.service")["Service"]
    assert service["ExecStart"] == [
        f"/opt/stackferry/venv/bin/stackferry-{name} --config /etc/stackferry/{name}.yaml"
    ]
    assert service["Type"][0] in ("simple", "notify")
    assert service["Restart"] == ["on-failure"]
    assert service["RestartPreventExitStatus"] == ["2"]  # a config error: do not loop
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["StandardOutput"] == ["journal"]
    environment = " ".join(service["Environment"])
    assert "MALLOC_MMAP_THRESHOLD_=33554432" in environment
    assert "MALLOC_TRIM_THRESHOLD_=134217728" in environment


def test_the_agent_unit_keeps_the_host_mount_namespace_and_only_dev_zfs() -> None:
    service = unit("stackferry-agent.service")["Service"]
    assert MOUNT_NAMESPACE_OPTIONS.isdisjoint(service), "mounts would not reach dockerd"
    assert service["DevicePolicy"] == ["closed"]
    assert service["DeviceAllow"] == ["/dev/zfs rw"]
    assert "CAP_SYS_MODULE" in service["CapabilityBoundingSet"][0]
    assert service["CapabilityBoundingSet"][0].startswith("~")


def test_the_controller_unit_is_fully_sandboxed() -> None:
    service = unit("stackferry-controller.service")["Service"]
    assert service["DynamicUser"] == ["yes"]
    assert service["ProtectSystem"] == ["strict"]
    assert service["CapabilityBoundingSet"] == [""]
    for option in ("ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables"):
        assert service[option] == ["yes"], option
    credentials = dict(v.split(":", 1) for v in service["LoadCredential"])
    config = yaml.safe_load((REPO / "deploy/config/controller.yaml").read_text())
    in_credentials = "/run/credentials/stackferry-controller.service/"
    for key in ("tls_cert", "tls_key", "tls_ca"):
        assert config[key].startswith(in_credentials)
        assert config[key].removeprefix(in_credentials) in credentials


@pytest.mark.parametrize("name", ["agent", "controller"])
def test_the_shipped_config_has_every_key_with_a_comment_and_loads(name: str) -> None:
    path = REPO / "deploy" / "config" / f"{name}.yaml"
    lines = path.read_text().splitlines()
    keys = [m.group(1) for line in lines if (m := re.match(r"^([a-z_]+):", line))]
    assert keys == field_names(CONFIGS[name])
    for index, line in enumerate(lines):
        if re.match(r"^[a-z_]+:", line):
            assert lines[index - 1].startswith("#"), f"{line!r} has no comment above it"
    config: AgentConfig | ControllerConfig = load_config(
        CONFIGS[name], path, {}, "UNUSED_PREFIX_", environ={}
    )
    assert config.insecure is False
    assert config.tls_ca  # mutual TLS by default


@pytest.mark.parametrize(
    ("name", "heading"), [("agent", "## Agent"), ("controller", "## Controller")]
)
def test_configuration_md_documents_exactly_the_keys(name: str, heading: str) -> None:
    text = (REPO / "docs" / "configuration.md").read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    keys = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)
    assert keys == field_names(CONFIGS[name])


def run_daemon(
    name: str, config: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"stackferry.{name}", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


@pytest.mark.parametrize("name", ["agent", "controller"])
@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"bogus_key": 1}, "bogus_key"),
        ({"log_level": "loud"}, "log_level"),
        ({"log_format": ["json"]}, "log_format"),
        ({"insecure": "maybe"}, "insecure"),
        ({"listen": "no-port"}, "listen"),
    ],
)
def test_a_bad_config_stops_the_daemon_naming_the_key(
    tmp_path: Path, name: str, change: dict[str, object], key: str
) -> None:
    shipped = yaml.safe_load((REPO / "deploy" / "config" / f"{name}.yaml").read_text())
    config = tmp_path / f"{name}.yaml"
    config.write_text(yaml.safe_dump({**shipped, **change}))
    done = run_daemon(name, config)
    assert done.returncode == 2, done.stderr
    assert "configuration error" in done.stderr
    assert key in done.stderr


@pytest.mark.parametrize(
    ("name", "variable", "key"),
    [
        ("agent", "STACKFERRY_AGENT_TICKET_TTL_SECONDS", "ticket_ttl_seconds"),
        ("controller", "STACKFERRY_CONTROLLER_LEASE_SECONDS", "lease_seconds"),
    ],
)
def test_a_bad_environment_override_stops_the_daemon_naming_the_key(
    tmp_path: Path, name: str, variable: str, key: str
) -> None:
    config = tmp_path / f"{name}.yaml"
    shutil.copy(REPO / "deploy" / "config" / f"{name}.yaml", config)
    done = run_daemon(name, config, {variable: "soon"})
    assert done.returncode == 2, done.stderr
    assert key in done.stderr


def test_unit_files_parse_as_ini() -> None:
    """A cheap syntax check that runs even where systemd-analyze is missing."""
    for path in UNITS.glob("*.service"):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(path.read_text())
        assert parser.sections() == ["Unit", "Service", "Install"]
