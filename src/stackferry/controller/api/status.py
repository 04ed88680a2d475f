"""The one table from controller domain errors to gRPC status codes, and the decorators the
servicer uses so every handler reports errors the same way."""

from __future__ import annotations

import grpc

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.common.error_status import ErrorMapper
from stackferry.controller import errors

STATUS_OF: dict[type[errors.ControllerError], grpc.StatusCode] = {
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.Conflict: grpc.StatusCode.ABORTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def _describe(request: object) -> dict[str, str]:
    return {"migration_id": request.id} if isinstance(request, pb.MigrationRef) else {}


_MAPPER = ErrorMapper(errors.ControllerError, STATUS_OF, describe=_describe)
status_for = _MAPPER.status_for
maps_errors = _MAPPER.unary
maps_errors_stream = _MAPPER.stream
