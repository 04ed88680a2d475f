"""GET /api/v1/migrations/{id}/events: WatchMigration as Server-Sent Events.

Each event's SSE id is its id in the store, so a browser's EventSource that reconnects sends
Last-Event-ID and gets only what came after. When the migration has halted (ended, or
NEEDS_ATTENTION) the stream sends an `end` event and closes; a client that sees it stops
reconnecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator

import structlog

from stackferry.controller.http import convert
from stackferry.controller.service import ControllerService

log = structlog.get_logger(__name__)


def sse(event_id: int | None, kind: str, data: str) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {data}\n\n"


async def event_stream(
    service: ControllerService, migration_id: str, after_id: int
) -> AsyncIterator[str]:
    """The SSE text of every event after `after_id`, live.

    A thread of its own follows the store (ControllerService.watch blocks between events)
    and hands each message to the event loop, so open streams never hold the threads the
    API's handlers run in; when the client goes away the stop flag ends that thread.
    """
    loop = asyncio.get_running_loop()
    messages: asyncio.Queue[str | None] = asyncio.Queue()
    stop = threading.Event()

    def hand_over(message: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody listens
            loop.call_soon_threadsafe(messages.put_nowait, message)

    def follow() -> None:
        try:
            for event in service.watch(migration_id, stop, after_id):
                migration = service.get(migration_id)
                progress = convert.status_to_json(service.status(migration_id), migration.steps)
                data = convert.event_to_json(event, progress).model_dump_json()
                hand_over(sse(event.id, "migration", data))
            if not stop.is_set():
                hand_over(sse(None, "end", '{"ended": true}'))
        except Exception as exc:  # the client reconnects and resumes after its last event
            log.warning("event stream failed", migration_id=migration_id, error=str(exc))
            hand_over(sse(None, "stream_error", json.dumps({"message": str(exc)})))
        finally:
            hand_over(None)

    threading.Thread(target=follow, name=f"events-{migration_id[:8]}", daemon=True).start()
    try:
        while (message := await messages.get()) is not None:
            yield message
    finally:
        stop.set()
