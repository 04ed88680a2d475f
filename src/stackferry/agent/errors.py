"""Domain errors of the agent. No grpc here: agent/rpc/status.py maps each to a StatusCode."""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error the agent reports to a caller; the message is for a person."""


class NotFound(AgentError):
    """A dataset, snapshot, stack, file or image does not exist."""


class AlreadyExists(AgentError):
    """The target (dataset, compose directory, project) already exists."""


class FailedPrecondition(AgentError):
    """The system is not in a state that allows the operation (e.g. base snapshot mismatch)."""


class InvalidArgument(AgentError):
    """A name, path or option is malformed."""


class PermissionDenied(AgentError):
    """Outside the allowed roots, or a missing / wrong transfer ticket."""


class ResourceExhausted(AgentError):
    """Out of space (or another quota)."""


class Unavailable(AgentError):
    """A peer agent or the Docker engine cannot be reached; retrying may help."""


class Cancelled(AgentError):
    """The operation was cancelled by the caller or by shutdown."""


class DeadlineExceeded(AgentError):
    """Waiting for something (a command, containers becoming healthy) took too long."""


class DataLoss(AgentError):
    """A received stream does not match its trailer (byte count or checksum): it was cut or
    corrupted on the way, and nothing of it was kept."""


class CommandFailed(AgentError):
    """A subprocess exited non-zero in a way no more specific error describes."""

    def __init__(self, argv: list[str], returncode: int, stderr: str) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"{argv[0]} {' '.join(argv[1:3])} failed ({returncode}): {self.stderr}")
