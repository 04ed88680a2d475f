"""Domain errors of the controller. No grpc: controller/api/status.py maps each to a StatusCode."""

from __future__ import annotations


class ControllerError(Exception):
    """Base of every error the controller reports to a caller; the message is for a person.
    `transient`: trying the same again later may succeed (the engine's retries, retry.py)."""

    transient = False


class NotFound(ControllerError):
    """No migration (or agent, or event) with that id."""


class AlreadyExists(ControllerError):
    """The id is taken, or the stack already has a migration that has not ended."""


class FailedPrecondition(ControllerError):
    """The migration is not in a state that allows the operation (e.g. delete while running)."""


class InvalidTransition(FailedPrecondition):
    """The state machine has no transition for this event in this state."""

    def __init__(self, state: str, event: str) -> None:
        self.state = state
        self.event = event
        super().__init__(f"migration in state {state} does not accept event {event!r}")


class InvalidArgument(ControllerError):
    """A spec field, filter or page token is malformed."""


class Conflict(ControllerError):
    """Someone else changed the migration since it was read; re-read and retry."""


class LeaseHeld(Conflict):
    """Another live controller holds the lease that makes it this migration's only driver."""

    def __init__(self, migration_id: str, owner: str, expires_at: float) -> None:
        self.migration_id = migration_id
        self.owner = owner
        self.expires_at = expires_at
        super().__init__(
            f"migration {migration_id} is driven by {owner} (lease valid until {expires_at:.3f})"
        )


class LeaseLost(Conflict):
    """This controller no longer holds the migration's lease (it expired and another took it,
    or it was released); it must stop driving the migration."""

    def __init__(self, migration_id: str, owner: str) -> None:
        self.migration_id = migration_id
        self.owner = owner
        super().__init__(f"{owner} no longer holds the lease of migration {migration_id}")


class Unavailable(ControllerError):
    """An agent or the database cannot be reached; retrying may help. `address`: the agent's
    HOST:PORT when it is known which one."""

    transient = True

    def __init__(self, message: str = "", address: str = "") -> None:
        self.address = address
        super().__init__(message)
