"""Conversions between agent/storage/base.py's value types and the agent_pb2 messages."""

from __future__ import annotations

from agent.pb import agent_pb2
from agent.storage.base import DatasetInfo, Estimate, SnapshotInfo


def snapshot_info(s: SnapshotInfo) -> agent_pb2.SnapshotInfo:
    return agent_pb2.SnapshotInfo(
        dataset=s.dataset,
        name=s.name,
        guid=s.guid,
        created_unix=s.created_unix,
        used_bytes=s.used_bytes,
        referenced_bytes=s.referenced_bytes,
    )


def dataset_info(d: DatasetInfo) -> agent_pb2.DatasetInfo:
    return agent_pb2.DatasetInfo(
        name=d.name,
        exists=d.exists,
        mountpoint=d.mountpoint,
        mounted=d.mounted,
        used_bytes=d.used_bytes,
        available_bytes=d.available_bytes,
        referenced_bytes=d.referenced_bytes,
        guid=d.guid,
        receive_resume_token=d.receive_resume_token,
    )


def estimate_reply(e: Estimate) -> agent_pb2.EstimateSendReply:
    return agent_pb2.EstimateSendReply(bytes=e.bytes, method=e.method)
