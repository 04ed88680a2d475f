"""The real agent (config, gRPC server, pump, checksum, child-process pipes) whose receives
go to a child that discards them (`cat > /dev/null`), as the socat and ssh pipes of the
benchmark do: writing 1 GiB into tmpfs costs this VM 2-3 s of page allocation, which would
hide the transport being measured. Sends are the directory backend's own tar streams.

    python bench/null_sink_agent.py [stackferry-agent options...]
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from stackferry.agent import exec as proc  # noqa: E402
from stackferry.agent.__main__ import main  # noqa: E402
from stackferry.agent.config import AgentConfig  # noqa: E402
from stackferry.agent.process_pipes import ProcessSink  # noqa: E402
from stackferry.agent.service import AgentService  # noqa: E402
from stackferry.agent.storage.directory import DirectoryBackend  # noqa: E402
from stackferry.agent.streams import ByteSink, Received  # noqa: E402
from stackferry.agent.wiring import build_service  # noqa: E402


class NullSinkBackend(DirectoryBackend):
    def open_receive(
        self,
        target: str,
        base_guid: str | None,
        allow_overwrite: bool,
        resumable: bool = False,
        resume: bool = False,
        migration_id: str = "",
    ) -> ByteSink:
        self.check_receive(target, base_guid, allow_overwrite, resume)
        discard = proc.spawn(["cat"], stdin=True)  # stdout is /dev/null
        return ProcessSink(discard, lambda: Received(f"{target}@discarded"), lambda: None)


def null_sink_service(config: AgentConfig) -> AgentService:
    service = build_service(config)
    return dataclasses.replace(
        service, storage=NullSinkBackend(Path(config.state_dir) / "directory")
    )


if __name__ == "__main__":
    sys.exit(main(make_service=null_sink_service))
