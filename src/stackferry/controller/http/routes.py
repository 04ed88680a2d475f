"""The endpoints of /api/v1: each converts the body, calls ControllerService and converts
the reply. Handlers are plain `def`, so FastAPI runs them in worker threads: the service
blocks on the store and the agents."""

from __future__ import annotations

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from stackferry.controller.domain.model import MigrationSpec
from stackferry.controller.http import convert, shapes
from stackferry.controller.http.events import event_stream
from stackferry.controller.service import ControllerService

DEFAULT_PAGE_SIZE = 50
ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": shapes.Error, "description": what}
    for status, what in (
        (400, "the body is not JSON"),
        (401, "no or a wrong API token"),
        (403, "a cross-site request"),
        (404, "no migration with that id"),
        (409, "the migration's state does not allow it"),
        (422, "a field is missing or invalid"),
        (503, "an agent cannot be reached"),
    )
}


def _service(request: Request) -> ControllerService:
    service: ControllerService = request.app.state.service
    return service


def _spec(request: Request, body: shapes.CreateMigration) -> MigrationSpec:
    defaults: convert.SpecDefaults = request.app.state.spec_defaults
    return convert.spec_from_create(body, defaults)


def _target(request: Request, body: shapes.MigrationTarget) -> str | MigrationSpec:
    return body.id if body.id else _spec(request, body)


def _status(service: ControllerService, migration_id: str) -> shapes.Status:
    status = service.status(migration_id)
    return convert.status_to_json(status, service.get(migration_id).steps)


router = APIRouter(prefix="/api/v1/migrations", responses=ERRORS)


@router.post("", status_code=201, response_model=shapes.Migration)
def create_migration(request: Request, body: shapes.CreateMigration) -> shapes.Migration:
    migration = _service(request).create(_spec(request, body), start=body.start)
    return convert.migration_to_json(migration)


@router.get("", response_model=shapes.MigrationPage)
def list_migrations(
    request: Request,
    state: str = Query("", description="comma-separated states, e.g. COMPLETED,FAILED"),
    page_size: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=1000),
    page_token: str = "",
) -> shapes.MigrationPage:
    migrations, next_token = _service(request).list(
        convert.states_from_query(state), page_size, page_token
    )
    return shapes.MigrationPage(
        migrations=[convert.migration_to_json(m) for m in migrations], next_page_token=next_token
    )


@router.post("/validate", response_model=shapes.ValidationReport)
def validate_migration(request: Request, body: shapes.MigrationTarget) -> shapes.ValidationReport:
    return convert.report_to_json(_service(request).validate(_target(request, body)))


@router.post("/plan", response_model=shapes.Plan)
def plan_migration(request: Request, body: shapes.MigrationTarget) -> shapes.Plan:
    return convert.plan_to_json(_service(request).plan(_target(request, body)))


@router.get("/{migration_id}", response_model=shapes.Migration)
def get_migration(request: Request, migration_id: str) -> shapes.Migration:
    return convert.migration_to_json(_service(request).get(migration_id))


@router.get("/{migration_id}/status", response_model=shapes.Status)
def migration_status(request: Request, migration_id: str) -> shapes.Status:
    return _status(_service(request), migration_id)


@router.post("/{migration_id}/start", response_model=shapes.Migration)
def start_migration(request: Request, migration_id: str) -> shapes.Migration:
    return convert.migration_to_json(_service(request).start(migration_id))


@router.post("/{migration_id}/cancel", response_model=shapes.Migration)
def cancel_migration(request: Request, migration_id: str) -> shapes.Migration:
    return convert.migration_to_json(_service(request).cancel(migration_id))


@router.post("/{migration_id}/resume", response_model=shapes.Migration)
def resume_migration(request: Request, migration_id: str) -> shapes.Migration:
    """gRPC ResumeMigration: drives a migration whose driver is gone, or runs the rollback of
    one that NEEDS_ATTENTION again (once a person has checked the target)."""
    return convert.migration_to_json(_service(request).resume(migration_id))


@router.delete("/{migration_id}", status_code=204, response_class=Response)
def delete_migration(request: Request, migration_id: str) -> Response:
    _service(request).delete(migration_id)
    return Response(status_code=204)


@router.get(
    "/{migration_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "shapes.Event each"}},
)
def migration_events(
    request: Request,
    migration_id: str,
    last_event_id: int = Header(0, description="resume after this event id"),
    after: int = Query(0, description="the same, for clients that cannot set headers"),
) -> StreamingResponse:
    service = _service(request)
    service.get(migration_id)  # a 404 before the stream starts, not inside it
    return StreamingResponse(
        event_stream(service, migration_id, max(last_event_id, after)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
