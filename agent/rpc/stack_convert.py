"""Conversions between agent/stacks.py's domain types and the agent_pb2 messages."""

from __future__ import annotations

from agent.pb import agent_pb2
from agent.runtime.base import ContainerState, ImageState
from agent.stacks import (
    DeployCheck,
    DeployOutcome,
    DeployRequest,
    MountSource,
    ServiceStatus,
    StackInspection,
)


def deploy_request(msg: agent_pb2.DeployStackRequest) -> DeployRequest:
    return DeployRequest(
        project_name=msg.project_name,
        compose_dir=msg.compose_dir,
        compose_text=msg.compose_text,
        env_text=msg.env_text,
        write_env=msg.write_env,
        mounts=tuple((m.dataset, m.mountpoint) for m in msg.mounts),
        wait_timeout_seconds=msg.wait_timeout_seconds,
        compose_filename=msg.compose_filename,
    )


def container_info(c: ContainerState) -> agent_pb2.ContainerInfo:
    return agent_pb2.ContainerInfo(name=c.name, id=c.id, state=c.state, health=c.health)


def service_info(s: ServiceStatus) -> agent_pb2.ServiceInfo:
    return agent_pb2.ServiceInfo(
        name=s.name,
        image=s.image,
        containers=[container_info(c) for c in s.containers],
        published_ports=list(s.published_ports),
    )


def image_info(i: ImageState) -> agent_pb2.ImageInfo:
    return agent_pb2.ImageInfo(name=i.name, present=i.present, id=i.id, size_bytes=i.size_bytes)


def mount_info(m: MountSource) -> agent_pb2.MountInfo:
    return agent_pb2.MountInfo(
        service=m.service,
        source=m.source,
        target=m.target,
        on_zfs=m.on_zfs,
        dataset=m.dataset,
        dataset_mountpoint=m.dataset_mountpoint,
    )


def stack_info(s: StackInspection) -> agent_pb2.StackInfo:
    return agent_pb2.StackInfo(
        project_name=s.project_name,
        project_dir=s.project_dir,
        compose_path=s.compose_path,
        compose_text=s.compose_text,
        env_text=s.env_text,
        env_exists=s.env_exists,
        services=[service_info(x) for x in s.services],
        images=[image_info(x) for x in s.images],
        mounts=[mount_info(x) for x in s.mounts],
        datasets=list(s.datasets),
    )


def stack_status(s: StackInspection) -> agent_pb2.StackStatus:
    return agent_pb2.StackStatus(
        project_name=s.project_name, services=[service_info(x) for x in s.services]
    )


def check_deploy_reply(c: DeployCheck) -> agent_pb2.CheckDeployReply:
    return agent_pb2.CheckDeployReply(
        checks=[agent_pb2.Check(name=x.name, ok=x.ok, detail=x.detail) for x in c.checks],
        missing_images=list(c.missing_images),
    )


def deploy_reply(o: DeployOutcome) -> agent_pb2.DeployStackReply:
    return agent_pb2.DeployStackReply(
        ok=o.ok,
        services=[service_info(x) for x in o.services],
        error=o.error,
        logs=o.logs,
        compose_path=o.compose_path,
    )
