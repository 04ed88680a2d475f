"""Domain errors -> HTTP statuses, through the controller's one error table.

controller/api/status.py maps each domain error to a gRPC code; this module maps that code to
an HTTP status, so both faces of the controller report an error the same way. The body is
shapes.Error: the code's name (machine-readable) and the error's message (for a person).
"""

from __future__ import annotations

import grpc
import structlog
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from stackferry.controller.api.status import status_for
from stackferry.controller.errors import ControllerError
from stackferry.controller.http import shapes
from stackferry.controller.http.convert import MissingField

log = structlog.get_logger(__name__)

HTTP_STATUS_OF: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,  # start, cancel or delete in the wrong state
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.INTERNAL: 500,
}


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body = shapes.Error(code=code, message=message, field=field)
    return JSONResponse(body.model_dump(), status_code=status)


async def controller_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ControllerError)
    code = status_for(exc)
    status = HTTP_STATUS_OF.get(code, 500)
    log.warning(
        "http request failed",
        method=request.method,
        path=request.url.path,
        status=status,
        error=str(exc),
    )
    field = exc.field if isinstance(exc, MissingField) else None
    return error_response(status, code.name.lower(), str(exc), field)


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """A body that is not JSON is a 400; one whose fields have the wrong type or name, a 422
    naming the first such field."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        return error_response(400, "bad_request", f"the body is not JSON: {first.get('msg')}")
    where = [str(p) for p in first.get("loc", ())]
    if where and where[0] in ("body", "query", "path", "header"):
        where = where[1:]
    field = ".".join(where) or None
    message = f"{field}: {first.get('msg', 'invalid')}" if field else str(first.get("msg"))
    return error_response(422, "invalid_argument", message, field)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """An unknown path or a method a path does not have, in the API's error shape."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
    return error_response(
        exc.status_code, code, f"{request.method} {request.url.path}: {exc.detail}"
    )


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("http request crashed", method=request.method, path=request.url.path)
    return error_response(500, "internal", f"the controller failed: {exc}")
