"""The Controller gRPC service: each handler converts the request, calls ControllerService and
converts the reply. Errors become status codes in controller/api/status.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.api.controller.v1 import controller_pb2_grpc as pb_grpc
from stackferry.controller.api import convert
from stackferry.controller.api.status import maps_errors, maps_errors_stream
from stackferry.controller.service import ControllerService

DEFAULT_PAGE_SIZE = 50


class ControllerServicer(pb_grpc.ControllerServicer):
    def __init__(self, service: ControllerService) -> None:
        self.service = service

    @maps_errors
    def CreateMigration(
        self, request: pb.CreateMigrationRequest, context: grpc.ServicerContext
    ) -> pb.Migration:
        migration = self.service.create(convert.spec_from_pb(request.spec), start=request.start)
        return convert.migration_to_pb(migration)

    @maps_errors
    def StartMigration(
        self, request: pb.MigrationRef, context: grpc.ServicerContext
    ) -> pb.Migration:
        return convert.migration_to_pb(self.service.start(request.id))

    @maps_errors
    def CancelMigration(
        self, request: pb.MigrationRef, context: grpc.ServicerContext
    ) -> pb.Migration:
        return convert.migration_to_pb(self.service.cancel(request.id))

    @maps_errors
    def ResumeMigration(
        self, request: pb.MigrationRef, context: grpc.ServicerContext
    ) -> pb.Migration:
        return convert.migration_to_pb(self.service.resume(request.id))

    @maps_errors
    def GetMigration(self, request: pb.MigrationRef, context: grpc.ServicerContext) -> pb.Migration:
        return convert.migration_to_pb(self.service.get(request.id))

    @maps_errors
    def GetMigrationStatus(
        self, request: pb.MigrationRef, context: grpc.ServicerContext
    ) -> pb.MigrationStatus:
        return convert.status_to_pb(self.service.status(request.id))

    @maps_errors
    def ListMigrations(
        self, request: pb.ListMigrationsRequest, context: grpc.ServicerContext
    ) -> pb.ListMigrationsReply:
        migrations, next_token = self.service.list(
            states=tuple(convert.state_from_pb(s) for s in request.states),
            page_size=request.page_size or DEFAULT_PAGE_SIZE,
            page_token=request.page_token,
        )
        return pb.ListMigrationsReply(
            migrations=[convert.migration_to_pb(m) for m in migrations],
            next_page_token=next_token,
        )

    @maps_errors
    def ValidateMigration(
        self, request: pb.MigrationTarget, context: grpc.ServicerContext
    ) -> pb.ValidationReport:
        return convert.report_to_pb(self.service.validate(convert.target_from_pb(request)))

    @maps_errors
    def DeleteMigration(
        self, request: pb.MigrationRef, context: grpc.ServicerContext
    ) -> pb.DeleteMigrationReply:
        self.service.delete(request.id)
        return pb.DeleteMigrationReply()

    @maps_errors_stream
    def WatchMigration(
        self, request: pb.MigrationRef, context: grpc.ServicerContext
    ) -> Iterator[pb.MigrationEvent]:
        # The stream ends when the migration ends or the client goes away.
        stop = threading.Event()
        context.add_callback(stop.set)
        for event in self.service.watch(request.id, stop):
            yield convert.event_to_pb(event, self.service.status(event.migration_id))

    @maps_errors
    def PlanMigration(
        self, request: pb.MigrationTarget, context: grpc.ServicerContext
    ) -> pb.MigrationPlan:
        return convert.plan_to_pb(self.service.plan(convert.target_from_pb(request)))

    @maps_errors
    def PingAgent(
        self, request: pb.PingAgentRequest, context: grpc.ServicerContext
    ) -> pb.PingAgentReply:
        return convert.ping_to_pb(self.service.ping_agent(request.address))
