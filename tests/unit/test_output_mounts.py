"""cli/output.py: the plan shows every mount with its mover and why; the summary lists the
bytes of each dataset and file tree, and what was excluded or refused."""

from __future__ import annotations

import io

from rich.console import Console

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.cli import output


def printed(show: object, message: object) -> str:
    buffer = io.StringIO()
    show(Console(file=buffer, width=240, color_system=None), message)  # type: ignore[operator]
    return buffer.getvalue()


def test_the_plan_lists_each_mount_with_its_mover_and_reason() -> None:
    plan = pb.MigrationPlan(
        project_name="app",
        mounts=[
            pb.MountPlan(service="db", target="/var/lib/db", source="volume app_db",
                         mover="files", reason="a named volume", size_bytes=20 << 20,
                         moves_to="volume app_db"),
            pb.MountPlan(service="web", target="/x", source="bind /srv/app/etclink",
                         mover="refused",
                         reason="/srv/app/etclink -> /etc is outside the allowed roots"),
        ],
    )  # fmt: skip
    text = printed(output.print_plan, plan)
    rows = [line for line in text.splitlines() if "app_db" in line or "etclink" in line]
    assert "files" in rows[0] and "volume app_db" in rows[0] and "20.0 MiB" in rows[0]
    assert "refused" in rows[1] and "-> /etc is outside the allowed roots" in rows[1]


def test_the_summary_gives_bytes_per_tree_and_names_what_stayed_behind() -> None:
    migration = pb.Migration(
        id="m1",
        state=pb.COMPLETED,
        files=[pb.FileMovePlan(name="volume app_db", moves_to="volume app_db",
                               bytes_moved=3 << 20)],
        datasets=[pb.DatasetPlan(source_dataset="src/app", target_dataset="dst/app",
                                 bytes_moved=1 << 20)],
        mounts=[pb.MountPlan(service="web", target="/cache", source="volume app_cache",
                             mover="excluded", reason="excluded by --exclude")],
    )  # fmt: skip
    text = printed(output.print_summary, migration)
    assert "volume app_db -> volume app_db: 3.0 MiB" in text
    assert "src/app -> dst/app: 1.0 MiB" in text
    assert "excluded: web volume app_cache (/cache): excluded by --exclude" in text
