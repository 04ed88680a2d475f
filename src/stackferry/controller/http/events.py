"""GET /api/v1/migrations/{id}/events: WatchMigration as Server-Sent Events.

Each event's SSE id is its id in the store, so a browser's EventSource that reconnects sends
Last-Event-ID and gets only what came after. When the migration has ended the stream sends an
`end` event and closes; a client that sees it stops reconnecting.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator

import anyio.to_thread

from stackferry.controller.domain.model import Event
from stackferry.controller.http import convert
from stackferry.controller.service import ControllerService


def sse(event_id: int | None, kind: str, data: str) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {data}\n\n"


async def event_stream(
    service: ControllerService, migration_id: str, after_id: int
) -> AsyncIterator[str]:
    """The SSE text of every event after `after_id`, live. The store is read in a worker
    thread; when the client goes away the stop flag ends that thread's wait."""
    stop = threading.Event()
    events = service.watch(migration_id, stop, after_id)

    def following() -> tuple[Event, str] | None:
        event = next(events, None)
        if event is None:
            return None
        migration = service.get(migration_id)
        progress = convert.status_to_json(service.status(migration_id), migration.steps)
        return event, convert.event_to_json(event, progress).model_dump_json()

    try:
        while True:
            found = await anyio.to_thread.run_sync(following, abandon_on_cancel=True)
            if found is None:
                break
            event, data = found
            yield sse(event.id, "migration", data)
        yield sse(None, "end", '{"ended": true}')
    finally:
        stop.set()
