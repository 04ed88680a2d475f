"""Opening the two ends of a transfer on this host, after the checks that guard them:
names validated and inside the allowed roots, and on the receiving side a one-time ticket.
No grpc here: agent/rpc/transfer_rpc.py adapts these to PrepareReceive, SendStream and
ReceiveStream.
"""

from __future__ import annotations

from collections.abc import Sequence

from stackferry.agent.errors import AgentError, FailedPrecondition, InvalidArgument
from stackferry.agent.service import AgentService
from stackferry.agent.streams import ByteSink, ByteSource
from stackferry.agent.tickets import Ticket, TransferSpec


def _check_spec(service: AgentService, spec: TransferSpec) -> None:
    if spec.kind == "zfs":
        service.roots.check_dataset(spec.target)
        service.storage.check_receive(
            spec.target, spec.base_guid or None, spec.allow_overwrite, spec.resume
        )
    elif spec.kind == "images":
        if not hasattr(service.runtime, "open_image_load"):
            raise FailedPrecondition("this agent's container runtime cannot load images")
    else:
        raise InvalidArgument(f"unknown stream kind {spec.kind!r}")


def prepare_receive(service: AgentService, spec: TransferSpec, ttl: int) -> Ticket:
    """Checks that the receive could succeed now, then issues its ticket."""
    _check_spec(service, spec)
    return service.tickets.issue(spec, ttl)


def open_sink(
    service: AgentService, ticket: str, presented: TransferSpec, resumable: bool
) -> ByteSink:
    """Redeems the ticket (PermissionDenied), re-checks the roots, starts the receiver."""
    spec = service.tickets.redeem(ticket, presented)
    if spec.kind == "images":
        _check_spec(service, spec)
        return service.runtime.open_image_load(spec.images)  # type: ignore[attr-defined, no-any-return]
    service.roots.check_dataset(spec.target)
    return service.storage.open_receive(
        spec.target, spec.base_guid or None, spec.allow_overwrite, resumable, spec.resume
    )


def open_source(
    service: AgentService,
    kind: str,
    snapshot: str,
    base: str,
    images: Sequence[str],
    resume_token: str,
) -> ByteSource:
    if kind == "images":
        if not images:
            raise InvalidArgument("an image stream needs at least one image")
        if not hasattr(service.runtime, "open_image_save"):
            raise FailedPrecondition("this agent's container runtime cannot save images")
        return service.runtime.open_image_save(list(images))  # type: ignore[attr-defined, no-any-return]
    if kind != "zfs":
        raise InvalidArgument(f"unknown stream kind {kind!r}")
    service.roots.check_snapshot(snapshot)
    if base:
        service.roots.check_snapshot(base)
    return service.storage.open_send(snapshot, base or None, resume_token or None)


def expected_bytes(
    service: AgentService, kind: str, snapshot: str, base: str, resume_token: str = ""
) -> int:
    """The size estimate for progress and ETA (of what is left, when resuming); 0 (unknown)
    when there is none."""
    if kind != "zfs":
        return 0
    try:
        return service.storage.estimate_send(snapshot, base or None, resume_token or None).bytes
    except AgentError:
        return 0
