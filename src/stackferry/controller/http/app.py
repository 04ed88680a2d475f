"""The ASGI application: /api/v1 (http/routes.py), its OpenAPI document, the dashboard's
static files at / and /static, the auth guard and the error handlers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from stackferry.controller.errors import ControllerError
from stackferry.controller.http import errors, shapes
from stackferry.controller.http.auth import Guard
from stackferry.controller.http.convert import SpecDefaults
from stackferry.controller.http.routes import router
from stackferry.controller.service import ControllerService

STATIC = Path(__file__).with_name("static")
# The dashboard loads only its own files, and no other site may frame it (its cancel button).
DASHBOARD_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
}
OPENAPI_URL = "/api/v1/openapi.json"


def build_app(
    service: ControllerService, defaults: SpecDefaults, token: str | None = None
) -> FastAPI:
    """`token`: the bearer token every request must carry (None: the TLS handshake or the
    loopback bind is the only gate)."""
    # The interactive docs pages load scripts from a CDN: off; the document itself is served.
    app = FastAPI(
        title="stackferry controller",
        version="1",
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.state.spec_defaults = defaults
    app.add_exception_handler(ControllerError, errors.controller_error)
    app.add_exception_handler(RequestValidationError, errors.invalid_request)
    app.add_exception_handler(HTTPException, errors.http_error)
    app.add_exception_handler(Exception, errors.internal_error)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=DASHBOARD_HEADERS)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = FastAPI.openapi(app)
            # The event stream's entries are not a response model; name their schema anyway.
            event = shapes.Event.model_json_schema(ref_template="#/components/schemas/{model}")
            document["components"]["schemas"].update(event.pop("$defs", {}))
            document["components"]["schemas"]["Event"] = event
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(Guard, token=token)
    return app
