"""cli/output.py: the plan lists every file of the compose project (where it lands, inside the
migrated data or carried as a file, and its diff), and the record says how many were carried."""

from __future__ import annotations

import io

from rich.console import Console

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.cli import output

CARRIED = [
    pb.CarriedFile(
        kind="compose",
        source_path="/srv/web/docker-compose.yml",
        target_path="/mnt/web/docker-compose.yml",
        relative="docker-compose.yml",
        inside_data=True,
        diff="--- docker-compose.yml\n+++ docker-compose.yml\n-      - /srv/web/data:/d\n"
        "+      - /mnt/web/data:/d\n",
    ),
    pb.CarriedFile(
        kind="extends",
        source_path="/srv/common/base.yml",
        target_path="/srv/common/base.yml",
    ),
]


def printed(show: object, message: object) -> str:
    buffer = io.StringIO()
    show(Console(file=buffer, width=240, color_system=None), message)  # type: ignore[operator]
    return buffer.getvalue()


def test_the_plan_lists_every_carried_file_how_it_goes_and_its_diff() -> None:
    plan = pb.MigrationPlan(
        project_name="web",
        carried_files=CARRIED,
        compose_files=["/mnt/web/docker-compose.yml", "/mnt/web/prod.yml"],
        profiles=["debug"],
        services=["web"],
        discovered_from="labels",
    )
    text = printed(output.print_plan, plan)
    assert (
        "compose -f /mnt/web/docker-compose.yml -f /mnt/web/prod.yml (found from the labels)"
    ) in text
    assert "profiles debug" in text and "services started web" in text
    assert (
        "compose /srv/web/docker-compose.yml -> /mnt/web/docker-compose.yml: "
        "inside the migrated data"
    ) in text
    assert "+      - /mnt/web/data:/d" in text
    assert (
        "extends /srv/common/base.yml -> /srv/common/base.yml: carried as a file "
        "(outside the migrated data)\n    unchanged"
    ) in text


def test_the_record_says_how_many_files_went_as_files() -> None:
    text = printed(output.print_migration, pb.Migration(id="m1", carried_files=CARRIED))
    assert (
        "2 files: 1 inside the migrated data, 1 carried as files (/srv/common/base.yml)"
    ) in text
    assert "compose files" not in printed(output.print_migration, pb.Migration(id="m1"))
