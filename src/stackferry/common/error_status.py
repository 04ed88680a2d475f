"""Domain errors -> gRPC status codes, shared by the agent's and the controller's servicers.

Each daemon keeps its own table (agent/rpc/status.py, controller/api/status.py); this module
holds the one way a handler turns a domain error into ``context.abort(code, message)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import grpc
import structlog

log = structlog.get_logger(__name__)

E = TypeVar("E", bound=Exception)
F = TypeVar("F", bound=Callable[..., Any])


class ErrorMapper(Generic[E]):
    """Decorators for handlers that raise ``base`` errors, mapped through ``table``.

    ``describe(request)`` may add fields (e.g. the migration id) to the "rpc failed" log line.
    """

    def __init__(
        self,
        base: type[E],
        table: Mapping[type[E], grpc.StatusCode],
        describe: Callable[[Any], dict[str, Any]] | None = None,
    ) -> None:
        self.base = base
        self.table = table
        self.describe = describe

    def status_for(self, exc: E) -> grpc.StatusCode:
        """The code of the nearest mapped class in the error's hierarchy; INTERNAL when none."""
        for cls in type(exc).__mro__:
            if cls in self.table:
                return self.table[cls]
        return grpc.StatusCode.INTERNAL

    def _abort(self, method: str, request: Any, exc: E, context: grpc.ServicerContext) -> None:
        code = self.status_for(exc)
        about = self.describe(request) if self.describe else {}
        log.warning("rpc failed", method=method, code=code.name, error=str(exc), **about)
        context.abort(code, str(exc))

    def unary(self, method: F) -> F:
        """Wraps a unary or client-streaming handler."""

        @functools.wraps(method)
        def wrapper(servicer: Any, request: Any, context: grpc.ServicerContext) -> Any:
            try:
                return method(servicer, request, context)
            except self.base as exc:
                self._abort(method.__name__, request, exc, context)

        return wrapper  # type: ignore[return-value]

    def stream(self, method: F) -> F:
        """Wraps a server-streaming handler (a generator)."""

        @functools.wraps(method)
        def wrapper(servicer: Any, request: Any, context: grpc.ServicerContext) -> Any:
            try:
                yield from method(servicer, request, context)
            except self.base as exc:
                self._abort(method.__name__, request, exc, context)

        return wrapper  # type: ignore[return-value]
