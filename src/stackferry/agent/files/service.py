"""The file mover's operations, one per RPC (or per kind of stream): no grpc here.

A pass is pushed by the sending agent (SendStream with kind files) into the receiving
agent's FileSync, with the ticket the receiving agent issued (PrepareReceive). Each agent
builds its own rsync command line from what it checked itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass

import structlog

from stackferry.agent import exec as agent_exec
from stackferry.agent.claims import Wanted
from stackferry.agent.errors import InvalidArgument, NotFound, PermissionDenied
from stackferry.agent.files import rsync_argv
from stackferry.agent.files.client import RsyncClient
from stackferry.agent.files.manifest import manifest
from stackferry.agent.files.ports import FileEnd, FileHeader, FilePeerDialer
from stackferry.agent.files.receiving import ReceivingPass
from stackferry.agent.files.sending import SendingPass
from stackferry.agent.files.trees import CreationRecord, Trees, check_tree, tree_key
from stackferry.agent.files.volumes import Volumes
from stackferry.agent.ports import Caller
from stackferry.agent.tickets import Ticket, TicketBook, TransferSpec
from stackferry.agent.transfer import Meter
from stackferry.common import metrics
from stackferry.hostapi import (
    FileManifest,
    FileTree,
    TransferProgress,
    TransferResult,
    VolumeInfo,
    VolumeSpec,
)

log = structlog.get_logger(__name__)

PROGRESS_INTERVAL = 1.0
# The claim check (agent/fencing.py): refuses a call of one migration on what another holds.
Fence = Callable[[str, Wanted], None]


@dataclass(frozen=True)
class FileSend:
    """One pass to push: the tree here, the peer, and the header for it."""

    source: FileTree
    peer: str
    header: FileHeader
    bandwidth_limit: int = 0  # bytes per second; 0: the agent's configured limit


@functools.cache
def rsync_version() -> str:
    """The installed rsync's version, "" without one (asked once: GetInfo answers pings)."""
    try:
        result = agent_exec.run([rsync_argv.RSYNC, "--version"], timeout=10, check=False)
    except NotFound:
        return ""
    return rsync_argv.parse_version(result.stdout)


class FileService:
    def __init__(
        self,
        trees: Trees,
        tickets: TicketBook,
        peers: FilePeerDialer,
        fence: Fence,
        bandwidth_limit: int = 0,
    ) -> None:
        self.trees = trees
        self.fence = fence
        self.tickets = tickets
        self.peers = peers
        self.bandwidth_limit = bandwidth_limit

    @property
    def volumes(self) -> Volumes:
        return self.trees.volumes

    @property
    def journal(self) -> CreationRecord | None:
        return self.trees.journal

    # -- volumes and manifests -----------------------------------------------------------

    def inspect_volume(self, name: str) -> VolumeInfo:
        return self.volumes.inspect(name)

    def create_volume(
        self, spec: VolumeSpec, allow_overwrite: bool, migration_id: str
    ) -> VolumeInfo:
        self.fence(migration_id, Wanted(volumes=(spec.name,)))

        def record() -> None:
            if self.journal is not None:
                self.journal.record_created(migration_id, "volume", spec.name)

        def adopt() -> None:
            if self.journal is not None:
                self.journal.record_created(migration_id, "adopted", spec.name)

        return self.volumes.create(spec, allow_overwrite, migration_id, record, adopt)

    def manifest(self, tree: FileTree) -> FileManifest:
        return manifest(self.trees.source_dir(tree))

    # -- the receiving side ------------------------------------------------------------

    def prepare_receive(
        self, target: FileTree, allow_overwrite: bool, migration_id: str, ttl: int
    ) -> Ticket:
        """Checks that the pass could land now, then issues its one-time ticket."""
        self._fence(target, migration_id)
        self.trees.check_target(target, allow_overwrite, migration_id)
        spec = TransferSpec(
            "files", tree_key(target), allow_overwrite=allow_overwrite, migration_id=migration_id
        )
        return self.tickets.issue(spec, ttl)

    def receive(
        self,
        header: FileHeader,
        incoming: Iterable[memoryview | bytes | FileEnd],
        caller: Caller,
    ) -> Generator[bytes | FileEnd, None, None]:
        """Redeems the ticket, then runs rsync --server into the target: yields its protocol
        bytes for the sender, then FileEnd once it exited 0."""
        presented = TransferSpec(
            "files", tree_key(header.target), allow_overwrite=header.allow_overwrite
        )
        migration_id = self.tickets.redeem(header.ticket, presented).migration_id
        self._fence(header.target, migration_id)
        target_dir = self.trees.open_target(header.target, header.allow_overwrite, migration_id)
        server = agent_exec.spawn(
            rsync_argv.server_argv(target_dir, header.checksum), stdin=True, stdout=True
        )
        receiving = ReceivingPass(server, target_dir, strict=header.final)
        caller.add_callback(receiving.abort)
        about = {"kind": "files", "target": tree_key(header.target), "final": header.final}
        log.info("receive started", **about)  # with "receive committed": when each ran
        with metrics.active_stream("receive"):
            yield from receiving.run(incoming)
        metrics.BYTES_RECEIVED.labels("files").inc(receiving.received)
        log.info("receive committed", bytes=receiving.received, **about)

    def _fence(self, target: FileTree, migration_id: str) -> None:
        if target.volume:
            self.fence(migration_id, Wanted(volumes=(target.volume,)))
        else:
            self.fence(migration_id, Wanted(paths=(self.trees.roots.check_path(target.path),)))

    # -- the sending side --------------------------------------------------------------

    def send(
        self, request: FileSend, caller: Caller
    ) -> Generator[TransferProgress | TransferResult, None, None]:
        """Pushes one pass into the peer: progress about every PROGRESS_INTERVAL (bytes of
        the stream, both ways), then the result (the bytes the receiver got); raises unless
        both ends succeeded."""
        if request.bandwidth_limit < 0:
            raise InvalidArgument("bandwidth_limit_bytes_per_second must not be negative")
        if not request.peer:
            raise InvalidArgument("a file pass needs the peer agent to push into")
        if not request.header.ticket:
            raise PermissionDenied("no transfer ticket: ask the target agent (PrepareReceive)")
        check_tree(request.header.target)
        source_dir = self.trees.source_dir(request.source)
        meter = Meter(0, request.bandwidth_limit or self.bandwidth_limit)
        call = self.peers.open_sync(request.peer, request.header)
        try:
            client = RsyncClient(source_dir, request.header.checksum)
        except BaseException:
            call.cancel()
            raise
        sending = SendingPass(client, call, meter, strict=request.header.final)
        caller.add_callback(sending.cancel)
        with metrics.active_stream("send"):
            sending.start()
            while not sending.wait(PROGRESS_INTERVAL):
                yield meter.progress()
            sending.result()
        metrics.BYTES_SENT.labels("files").inc(sending.sent)
        yield meter.progress()
        # The result counts what the receiver got (the data moved), not the replies too.
        yield TransferResult(sending.sent, seconds=meter.elapsed())
