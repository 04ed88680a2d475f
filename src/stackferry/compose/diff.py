"""The plan shows a translation as unified diffs of the compose file and the `.env`."""

from __future__ import annotations

import difflib


def unified_diff(before: str, after: str, name: str) -> str:
    """Empty when the texts are equal; a missing final newline is marked as `diff` does."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
