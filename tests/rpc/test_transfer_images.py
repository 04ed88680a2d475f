"""STREAM_IMAGES agent to agent: docker save on host A's engine -> docker load on host B's."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator

import grpc
import pytest
from conftest import TEST_IMAGE, AgentProcess
from transfer_helpers import stub

from stackferry.api.agent.v1 import agent_pb2

IMAGES = agent_pb2.STREAM_IMAGES


def docker(host: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "-H", host, *args], capture_output=True, text=True, check=check
    )


@pytest.fixture
def image(docker_hosts: tuple[str, str]) -> Iterator[str]:
    """A unique tag of the test image on host A only; removed from both hosts afterwards."""
    name = f"local/sf-transfer-{uuid.uuid4().hex[:8]}:1"
    docker(docker_hosts[0], "tag", TEST_IMAGE, name)
    yield name
    for host in docker_hosts:
        docker(host, "rmi", name, check=False)


def test_images_stream_from_engine_to_engine(
    docker_hosts: tuple[str, str], start_agent: Callable[..., AgentProcess], image: str
) -> None:
    host_a, host_b = docker_hosts
    flags = ("--insecure", "--storage-backend", "directory")
    source = start_agent(*flags, "--docker-host", host_a)
    target = start_agent(*flags, "--docker-host", host_b)
    assert docker(host_b, "image", "inspect", image, check=False).returncode != 0
    ticket = stub(target.address).PrepareReceive(
        agent_pb2.PrepareReceiveRequest(kind=IMAGES, images=[image])
    )
    header = agent_pb2.ReceiveHeader(kind=IMAGES, ticket=ticket.ticket)
    request = agent_pb2.SendRequest(kind=IMAGES, images=[image], peer=target.address, header=header)
    events = list(stub(source.address).SendStream(request))
    assert events[-1].HasField("done") and events[-1].done.bytes > 0
    assert docker(host_b, "image", "inspect", image, check=False).returncode == 0

    request.header.ticket = ticket.ticket  # replayed
    with pytest.raises(grpc.RpcError) as err:
        list(stub(source.address).SendStream(request))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_compressed_image_stream_loads_on_the_target(
    docker_hosts: tuple[str, str], start_agent: Callable[..., AgentProcess], image: str
) -> None:
    host_a, host_b = docker_hosts
    flags = ("--insecure", "--storage-backend", "directory")
    source = start_agent(*flags, "--docker-host", host_a)
    target = start_agent(*flags, "--docker-host", host_b)
    ticket = stub(target.address).PrepareReceive(
        agent_pb2.PrepareReceiveRequest(kind=IMAGES, images=[image])
    )
    header = agent_pb2.ReceiveHeader(kind=IMAGES, ticket=ticket.ticket)
    request = agent_pb2.SendRequest(
        kind=IMAGES, images=[image], peer=target.address, header=header, compression="zstd"
    )
    done = list(stub(source.address).SendStream(request))[-1].done
    assert done.compression == "zstd" and 0 < done.wire_bytes < done.bytes
    assert docker(host_b, "image", "inspect", image, check=False).returncode == 0
