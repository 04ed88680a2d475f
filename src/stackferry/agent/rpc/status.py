"""The one table from agent domain errors to gRPC status codes, and the decorators servicers use."""

from __future__ import annotations

import grpc

from stackferry.agent import errors
from stackferry.common.error_status import ErrorMapper

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
    errors.DataLoss: grpc.StatusCode.DATA_LOSS,
    errors.CommandFailed: grpc.StatusCode.INTERNAL,
}

_MAPPER = ErrorMapper(errors.AgentError, STATUS_OF)
status_for = _MAPPER.status_for
maps_errors = _MAPPER.unary
maps_errors_stream = _MAPPER.stream
