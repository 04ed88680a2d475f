"""The one table from domain errors to gRPC status codes, and the decorator servicers use."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
import structlog

from agent import errors

log = structlog.get_logger(__name__)

STATUS_OF: dict[type[errors.AgentError], grpc.StatusCode] = {
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.Cancelled: grpc.StatusCode.CANCELLED,
    errors.DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
    errors.CommandFailed: grpc.StatusCode.INTERNAL,
}


def status_for(exc: errors.AgentError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]  # type: ignore[index]
    return grpc.StatusCode.INTERNAL


F = TypeVar("F", bound=Callable[..., Any])


def maps_errors(method: F) -> F:
    """Wraps a unary or client-streaming handler: AgentError -> context.abort(code, message)."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except errors.AgentError as exc:
            code = status_for(exc)
            log.warning("rpc failed", method=method.__name__, code=code.name, error=str(exc))
            context.abort(code, str(exc))

    return wrapper  # type: ignore[return-value]


def maps_errors_stream(method: F) -> F:
    """The same for server-streaming handlers (generators)."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            yield from method(self, request, context)
        except errors.AgentError as exc:
            code = status_for(exc)
            log.warning("rpc failed", method=method.__name__, code=code.name, error=str(exc))
            context.abort(code, str(exc))

    return wrapper  # type: ignore[return-value]
