"""An in-process controller for the CLI when no --controller address is given.

It is the same service the daemon runs, on the embedded SQLite default, behind a real gRPC
server on a private unix socket: the CLI stays a thin client of the API either way.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from stackferry.controller.config import ControllerConfig
from stackferry.controller.server import ControllerServer
from stackferry.controller.service import ControllerService
from stackferry.controller.wiring import build_service


class EmbeddedController:
    """Context manager: starts service and server on enter, stops both on exit.

    `config` carries the state directory and the credentials used to dial agents; the API
    itself is served in plaintext on a unix socket inside a fresh 0700 directory.
    """

    def __init__(self, config: ControllerConfig, resume: bool = False) -> None:
        self.config = config
        self.resume = resume
        self.address = ""
        self._socket_dir: Path | None = None
        self._service: ControllerService | None = None
        self._server: ControllerServer | None = None

    def __enter__(self) -> EmbeddedController:
        self._socket_dir = Path(tempfile.mkdtemp(prefix="stackferry-"))
        self._service = build_service(self.config)
        try:
            if self.resume:
                self._service.resume_all()
            api_config = ControllerConfig(
                listen=f"unix:{self._socket_dir / 'controller.sock'}", insecure=True
            )
            self._server = ControllerServer(api_config, self._service)
        except BaseException:
            self._close()
            raise
        self.address = self._server.address
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    def _close(self) -> None:
        if self._server is not None:
            self._server.stop(grace=1)
        if self._service is not None:
            self._service.shutdown()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
