"""The one table from controller domain errors to gRPC status codes, and the decorators the
servicer uses so every handler reports errors the same way."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
import structlog

from controller import errors
from controller.pb import controller_pb2 as pb

log = structlog.get_logger(__name__)

STATUS_OF: dict[type[errors.ControllerError], grpc.StatusCode] = {
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.Conflict: grpc.StatusCode.ABORTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def status_for(exc: errors.ControllerError) -> grpc.StatusCode:
    """The code of the nearest mapped class in the error's hierarchy; INTERNAL when none."""
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return grpc.StatusCode.INTERNAL


F = TypeVar("F", bound=Callable[..., Any])


def _abort(
    method: str, request: Any, exc: errors.ControllerError, context: grpc.ServicerContext
) -> None:
    code = status_for(exc)
    about = {"migration_id": request.id} if isinstance(request, pb.MigrationRef) else {}
    log.warning("rpc failed", method=method, code=code.name, error=str(exc), **about)
    context.abort(code, str(exc))


def maps_errors(method: F) -> F:
    """Wraps a unary handler: ControllerError -> context.abort(code, message)."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except errors.ControllerError as exc:
            _abort(method.__name__, request, exc, context)

    return wrapper  # type: ignore[return-value]


def maps_errors_stream(method: F) -> F:
    """The same for server-streaming handlers (generators)."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            yield from method(self, request, context)
        except errors.ControllerError as exc:
            _abort(method.__name__, request, exc, context)

    return wrapper  # type: ignore[return-value]
