"""rsync's exit statuses as the agent's domain errors."""

from __future__ import annotations

from stackferry.agent.errors import AgentError, CommandFailed, ResourceExhausted

# 24: "some files vanished before they could be transferred": a live pass of a running app
# races its deletions; the next pass (and the final one, app stopped) settles them.
VANISHED = 24
OUT_OF_SPACE = "No space left on device"


def rsync_failed(side: str, returncode: int, stderr: str) -> AgentError:
    detail = stderr.strip() or f"exit status {returncode}"
    if OUT_OF_SPACE in stderr or "Disk quota exceeded" in stderr:
        return ResourceExhausted(f"{side}: out of space: {detail}")
    return AgentError(f"{side}: rsync failed ({returncode}): {detail}")


def from_command(side: str, exc: CommandFailed) -> AgentError:
    return rsync_failed(side, exc.returncode, exc.stderr)
