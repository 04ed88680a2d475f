"""Following several agent-to-agent streams at once (the final phase, while the app is down).

Each stream is read by its own thread, at most `parallelism` at a time; those threads only
pass what they read to the step's thread through a queue, so every record (progress, the
result of a stream, saves) is written by the step's thread alone, as with one stream. The
first stream that fails cancels the others and its error is the step's.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stackferry.controller.domain.machine import Action
from stackferry.controller.engine.context import Interrupted, StepContext, StepFailed
from stackferry.controller.ports import TransferCall
from stackferry.hostapi import TransferProgress, TransferResult

OpenCall = Callable[[], TransferCall]
OnResult = Callable[[int, TransferResult], None]


@dataclass(frozen=True)
class _Read:
    index: int
    event: TransferProgress | TransferResult | BaseException | None  # None: ended, no result


def follow_all(
    ctx: StepContext,
    action: Action,
    opens: Sequence[OpenCall],
    on_result: OnResult,
    parallelism: int,
) -> None:
    """Runs every stream `opens[i]()` opens, `parallelism` at a time; `on_result(i, result)`
    in the step's thread as each one ends. Raises the first failure after cancelling the rest."""
    step = ctx.migration.step(action)
    done_before = step.bytes_done
    done = [0] * len(opens)
    reads: queue.Queue[_Read] = queue.Queue()
    slots = threading.Semaphore(max(1, parallelism))
    calls: list[TransferCall] = []
    stop = threading.Event()
    lock = threading.Lock()

    def read(index: int) -> None:
        with slots:
            if stop.is_set():
                reads.put(_Read(index, None))
                return
            try:
                call = opens[index]()
                with lock:
                    calls.append(call)
                if stop.is_set():  # a failure came while it was being opened
                    call.cancel()
                with ctx.interruption.cutting(call):
                    for event in call:
                        reads.put(_Read(index, event))
                        if isinstance(event, TransferResult):
                            return
                reads.put(_Read(index, None))
            except BaseException as exc:  # handed to the step's thread, which raises it
                reads.put(_Read(index, exc))

    threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(len(opens))]
    for thread in threads:
        thread.start()
    failure: BaseException | None = None
    left = len(opens)
    last_save = time.monotonic()
    try:
        while left:
            item = reads.get()
            event = item.event
            if isinstance(event, TransferProgress):
                done[item.index] = event.bytes_done
            elif isinstance(event, TransferResult):
                left -= 1
                done[item.index] = event.bytes
                on_result(item.index, event)
            else:
                left -= 1
                if failure is None:
                    failure = event or StepFailed(
                        f"{action.value}: a stream ended without a result"
                    )
                    _cancel_all(stop, lock, calls)
                continue
            step.bytes_done = done_before + sum(done)
            step.bytes_expected = max(step.bytes_expected, step.bytes_done)
            if time.monotonic() - last_save >= ctx.timings.progress_seconds:
                last_save = time.monotonic()
                ctx.progress(step)
    except BaseException:
        _cancel_all(stop, lock, calls)
        raise
    finally:
        for thread in threads:
            thread.join()
    if failure is not None:
        if ctx.interruption.is_set():
            raise Interrupted()
        raise failure
    ctx.progress(step, check_cancel=False)


def _cancel_all(stop: threading.Event, lock: threading.Lock, calls: list[TransferCall]) -> None:
    stop.set()
    with lock:
        for call in calls:
            call.cancel()
