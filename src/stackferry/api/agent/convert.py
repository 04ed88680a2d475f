"""The one converter between stackferry.hostapi values and the agent API's messages.

`*_to_pb` is used by the agent's servicers (domain -> reply); `*_from_pb` by the controller's
agent client (reply -> domain). Both directions of a type sit side by side, so a field added
to one is seen missing in the other.
"""

from __future__ import annotations

from stackferry import hostapi as h
from stackferry.api.agent.v1 import agent_pb2 as pb


def agent_info_to_pb(i: h.AgentInfo) -> pb.AgentInfo:
    return pb.AgentInfo(
        version=i.version,
        hostname=i.hostname,
        api_version=i.api_version,
        storage_backend=i.storage_backend,
        storage_features=i.storage_features,
        zfs_version=i.zfs_version,
        docker_version=i.docker_version,
        compose_variant=i.compose_variant,
        compose_version=i.compose_version,
        allowed_dataset_roots=list(i.allowed_dataset_roots),
        allowed_path_roots=list(i.allowed_path_roots),
        rsync_version=i.rsync_version,
        compressions=list(i.compressions),
    )


def agent_info_from_pb(m: pb.AgentInfo) -> h.AgentInfo:
    return h.AgentInfo(
        version=m.version,
        hostname=m.hostname,
        api_version=m.api_version,
        storage_backend=m.storage_backend,
        storage_features=dict(m.storage_features),
        zfs_version=m.zfs_version,
        docker_version=m.docker_version,
        compose_variant=m.compose_variant,
        compose_version=m.compose_version,
        allowed_dataset_roots=tuple(m.allowed_dataset_roots),
        allowed_path_roots=tuple(m.allowed_path_roots),
        rsync_version=m.rsync_version,
        compressions=tuple(m.compressions),
    )


def snapshot_to_pb(s: h.SnapshotInfo) -> pb.SnapshotInfo:
    return pb.SnapshotInfo(
        dataset=s.dataset,
        name=s.name,
        guid=s.guid,
        created_unix=s.created_unix,
        used_bytes=s.used_bytes,
        referenced_bytes=s.referenced_bytes,
    )


def snapshot_from_pb(m: pb.SnapshotInfo) -> h.SnapshotInfo:
    return h.SnapshotInfo(
        dataset=m.dataset,
        name=m.name,
        guid=m.guid,
        created_unix=m.created_unix,
        used_bytes=m.used_bytes,
        referenced_bytes=m.referenced_bytes,
    )


def dataset_to_pb(d: h.DatasetInfo) -> pb.DatasetInfo:
    return pb.DatasetInfo(
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


def dataset_from_pb(m: pb.DatasetInfo) -> h.DatasetInfo:
    return h.DatasetInfo(
        name=m.name,
        exists=m.exists,
        mountpoint=m.mountpoint,
        mounted=m.mounted,
        used_bytes=m.used_bytes,
        available_bytes=m.available_bytes,
        referenced_bytes=m.referenced_bytes,
        guid=m.guid,
        receive_resume_token=m.receive_resume_token,
    )


def estimate_to_pb(e: h.SendEstimate) -> pb.SendEstimate:
    return pb.SendEstimate(bytes=e.bytes, method=e.method)


def estimate_from_pb(m: pb.SendEstimate) -> h.SendEstimate:
    return h.SendEstimate(m.bytes, m.method)


def container_to_pb(c: h.ContainerInfo) -> pb.ContainerInfo:
    return pb.ContainerInfo(
        name=c.name,
        id=c.id,
        service=c.service,
        state=c.state,
        health=c.health,
        exit_code=c.exit_code,
        restart_count=c.restart_count,
    )


def container_from_pb(m: pb.ContainerInfo) -> h.ContainerInfo:
    return h.ContainerInfo(
        name=m.name,
        id=m.id,
        service=m.service,
        state=m.state,
        health=m.health,
        exit_code=m.exit_code,
        restart_count=m.restart_count,
    )


def service_to_pb(s: h.ServiceInfo) -> pb.ServiceInfo:
    return pb.ServiceInfo(
        name=s.name,
        image=s.image,
        containers=[container_to_pb(c) for c in s.containers],
        published_ports=list(s.published_ports),
    )


def service_from_pb(m: pb.ServiceInfo) -> h.ServiceInfo:
    return h.ServiceInfo(
        name=m.name,
        image=m.image,
        containers=tuple(container_from_pb(c) for c in m.containers),
        published_ports=tuple(m.published_ports),
    )


def image_to_pb(i: h.ImageInfo) -> pb.ImageInfo:
    return pb.ImageInfo(name=i.name, present=i.present, id=i.id, size_bytes=i.size_bytes)


def image_from_pb(m: pb.ImageInfo) -> h.ImageInfo:
    return h.ImageInfo(m.name, m.present, m.id, m.size_bytes)


def mount_to_pb(m: h.MountInfo) -> pb.MountInfo:
    return pb.MountInfo(
        service=m.service,
        source=m.source,
        target=m.target,
        on_zfs=m.on_zfs,
        dataset=m.dataset,
        dataset_mountpoint=m.dataset_mountpoint,
        type=m.type,
        resolved_source=m.resolved_source,
        outside_roots=m.outside_roots,
        source_kind=m.source_kind,
        volume=m.volume,
        volume_key=m.volume_key,
        volume_driver=m.volume_driver,
        volume_options=m.volume_options,
        volume_labels=m.volume_labels,
        external=m.external,
        volume_mountpoint=m.volume_mountpoint,
        shared_with=list(m.shared_with),
        seen_in=m.seen_in,
        size_bytes=m.size_bytes,
        read_only=m.read_only,
        location=m.location,
        anonymous=m.anonymous,
    )


def mount_from_pb(m: pb.MountInfo) -> h.MountInfo:
    return h.MountInfo(
        m.service,
        m.source,
        m.target,
        m.on_zfs,
        m.dataset,
        m.dataset_mountpoint,
        type=m.type,
        resolved_source=m.resolved_source,
        outside_roots=m.outside_roots,
        source_kind=m.source_kind,
        volume=m.volume,
        volume_key=m.volume_key,
        volume_driver=m.volume_driver,
        volume_options=dict(m.volume_options),
        volume_labels=dict(m.volume_labels),
        external=m.external,
        volume_mountpoint=m.volume_mountpoint,
        shared_with=tuple(m.shared_with),
        seen_in=m.seen_in,
        size_bytes=m.size_bytes,
        read_only=m.read_only,
        location=m.location,
        anonymous=m.anonymous,
    )


def project_file_to_pb(f: h.ProjectFile) -> pb.ProjectFile:
    return pb.ProjectFile(
        path=f.path,
        kind=f.kind,
        relative=f.relative,
        content=f.content,
        owner=f.owner,
        exists=f.exists,
        mode=f.mode,
        uid=f.uid,
        gid=f.gid,
    )


def project_file_from_pb(m: pb.ProjectFile) -> h.ProjectFile:
    return h.ProjectFile(
        m.path, m.kind, m.relative, m.content, m.owner, m.exists, m.mode, m.uid, m.gid
    )


def stack_to_pb(s: h.StackInfo) -> pb.StackInfo:
    return pb.StackInfo(
        project_name=s.project_name,
        project_dir=s.project_dir,
        compose_path=s.compose_path,
        compose_text=s.compose_text,
        env_text=s.env_text,
        env_exists=s.env_exists,
        services=[service_to_pb(x) for x in s.services],
        images=[image_to_pb(x) for x in s.images],
        mounts=[mount_to_pb(x) for x in s.mounts],
        datasets=list(s.datasets),
        compose_files=list(s.compose_files),
        profiles=list(s.profiles),
        required_features=list(s.required_features),
        compose_check=s.compose_check,
        compose_check_failed=s.compose_check_failed,
        started_with=list(s.started_with),
        env_files=list(s.env_files),
        project_files=[project_file_to_pb(x) for x in s.project_files],
        discovered_from=s.discovered_from,
        running_services=list(s.running_services),
    )


def stack_from_pb(m: pb.StackInfo) -> h.StackInfo:
    return h.StackInfo(
        project_name=m.project_name,
        project_dir=m.project_dir,
        compose_path=m.compose_path,
        compose_text=m.compose_text,
        env_text=m.env_text,
        env_exists=m.env_exists,
        services=tuple(service_from_pb(x) for x in m.services),
        images=tuple(image_from_pb(x) for x in m.images),
        mounts=tuple(mount_from_pb(x) for x in m.mounts),
        datasets=tuple(m.datasets),
        compose_files=tuple(m.compose_files),
        profiles=tuple(m.profiles),
        required_features=tuple(m.required_features),
        compose_check=m.compose_check,
        compose_check_failed=m.compose_check_failed,
        started_with=tuple(m.started_with),
        env_files=tuple(m.env_files),
        project_files=tuple(project_file_from_pb(x) for x in m.project_files),
        discovered_from=m.discovered_from,
        running_services=tuple(m.running_services),
    )


def stop_outcome_to_pb(o: h.StopOutcome) -> pb.StopOutcome:
    return pb.StopOutcome(
        service=o.service, grace_seconds=o.grace_seconds, seconds=o.seconds, killed=o.killed
    )


def stop_outcome_from_pb(m: pb.StopOutcome) -> h.StopOutcome:
    return h.StopOutcome(m.service, m.grace_seconds, m.seconds, tuple(m.killed))


def stack_status_to_pb(s: h.StackStatus) -> pb.StackStatus:
    return pb.StackStatus(
        project_name=s.project_name,
        services=[service_to_pb(x) for x in s.services],
        stop_seconds=s.stop_seconds,
        stops=[stop_outcome_to_pb(x) for x in s.stops],
    )


def stack_status_from_pb(m: pb.StackStatus) -> h.StackStatus:
    return h.StackStatus(
        m.project_name,
        tuple(service_from_pb(x) for x in m.services),
        m.stop_seconds,
        tuple(stop_outcome_from_pb(x) for x in m.stops),
    )


def deploy_request_to_pb(r: h.DeployRequest) -> pb.DeployRequest:
    return pb.DeployRequest(
        project_name=r.project_name,
        compose_dir=r.compose_dir,
        compose_text=r.compose_text,
        env_text=r.env_text,
        write_env=r.write_env,
        mounts=[pb.DatasetMount(dataset=d, mountpoint=m) for d, m in r.mounts],
        wait_timeout_seconds=r.wait_timeout_seconds,
        compose_filename=r.compose_filename,
        migration_id=r.migration_id,
        compose_files=list(r.compose_files),
        env_files=list(r.env_files),
        profiles=list(r.profiles),
        services=list(r.services),
        files=[project_file_to_pb(x) for x in r.files],
        create_only=r.create_only,
    )


def deploy_request_from_pb(m: pb.DeployRequest) -> h.DeployRequest:
    return h.DeployRequest(
        project_name=m.project_name,
        compose_dir=m.compose_dir,
        compose_text=m.compose_text,
        env_text=m.env_text,
        write_env=m.write_env,
        mounts=tuple((x.dataset, x.mountpoint) for x in m.mounts),
        wait_timeout_seconds=m.wait_timeout_seconds,
        compose_filename=m.compose_filename,
        migration_id=m.migration_id,
        compose_files=tuple(m.compose_files),
        env_files=tuple(m.env_files),
        profiles=tuple(m.profiles),
        services=tuple(m.services),
        files=tuple(project_file_from_pb(x) for x in m.files),
        create_only=m.create_only,
    )


def deploy_checks_to_pb(c: h.DeployChecks) -> pb.DeployChecks:
    return pb.DeployChecks(
        checks=[pb.DeployCheck(name=x.name, ok=x.ok, detail=x.detail) for x in c.checks],
        missing_images=list(c.missing_images),
    )


def deploy_checks_from_pb(m: pb.DeployChecks) -> h.DeployChecks:
    return h.DeployChecks(
        checks=tuple(h.DeployCheck(x.name, x.ok, x.detail) for x in m.checks),
        missing_images=tuple(m.missing_images),
    )


def deploy_result_to_pb(r: h.DeployResult) -> pb.DeployResult:
    return pb.DeployResult(
        ok=r.ok,
        services=[service_to_pb(x) for x in r.services],
        compose_path=r.compose_path,
        error=r.error,
        logs=r.logs,
        up_seconds=r.up_seconds,
        ready_seconds=r.ready_seconds,
        settle_seconds=r.settle_seconds,
        started_created=r.started_created,
    )


def deploy_result_from_pb(m: pb.DeployResult) -> h.DeployResult:
    return h.DeployResult(
        ok=m.ok,
        services=tuple(service_from_pb(x) for x in m.services),
        compose_path=m.compose_path,
        error=m.error,
        logs=dict(m.logs),
        up_seconds=m.up_seconds,
        ready_seconds=m.ready_seconds,
        settle_seconds=m.settle_seconds,
        started_created=m.started_created,
    )


def progress_to_pb(p: h.TransferProgress) -> pb.TransferProgress:
    return pb.TransferProgress(
        bytes_done=p.bytes_done,
        bytes_expected=p.bytes_expected,
        rate_bytes_per_second=p.rate_bytes_per_second,
        eta_seconds=p.eta_seconds,
        elapsed_seconds=p.elapsed_seconds,
    )


def progress_from_pb(m: pb.TransferProgress) -> h.TransferProgress:
    return h.TransferProgress(
        m.bytes_done, m.bytes_expected, m.rate_bytes_per_second, m.eta_seconds, m.elapsed_seconds
    )


def result_to_pb(r: h.TransferResult) -> pb.TransferResult:
    return pb.TransferResult(
        bytes=r.bytes,
        checksum=r.checksum,
        received_snapshot=r.received_snapshot,
        received_guid=r.received_guid,
        seconds=r.seconds,
        wire_bytes=r.wire_bytes,
        compression=r.compression,
    )


def result_from_pb(m: pb.TransferResult) -> h.TransferResult:
    return h.TransferResult(
        m.bytes,
        m.checksum,
        m.received_snapshot,
        m.received_guid,
        m.seconds,
        wire_bytes=m.wire_bytes,
        compression=m.compression,
    )


def claim_to_pb(c: h.Claim) -> pb.Claim:
    return pb.Claim(
        role=c.role,
        project_name=c.project_name,
        compose_path=c.compose_path,
        datasets=list(c.datasets),
        paths=list(c.paths),
        volumes=list(c.volumes),
        ttl_seconds=c.ttl_seconds,
    )


def claim_from_pb(m: pb.Claim) -> h.Claim:
    return h.Claim(
        role=m.role,
        project_name=m.project_name,
        compose_path=m.compose_path,
        datasets=tuple(m.datasets),
        paths=tuple(m.paths),
        volumes=tuple(m.volumes),
        ttl_seconds=m.ttl_seconds,
    )


def claim_grant_to_pb(g: h.ClaimGrant) -> pb.ClaimGrant:
    return pb.ClaimGrant(migration_id=g.migration_id, expires_unix=g.expires_unix)


def claim_grant_from_pb(m: pb.ClaimGrant) -> h.ClaimGrant:
    return h.ClaimGrant(m.migration_id, m.expires_unix)


def release_result_to_pb(r: h.ReleaseResult) -> pb.ReleaseResult:
    return pb.ReleaseResult(deploy_live=r.deploy_live)


def release_result_from_pb(m: pb.ReleaseResult) -> h.ReleaseResult:
    return h.ReleaseResult(m.deploy_live)


def discard_result_to_pb(r: h.DiscardResult) -> pb.DiscardResult:
    return pb.DiscardResult(removed=list(r.removed), kept=list(r.kept))


def discard_result_from_pb(m: pb.DiscardResult) -> h.DiscardResult:
    return h.DiscardResult(tuple(m.removed), tuple(m.kept))


def file_tree_to_pb(t: h.FileTree) -> pb.FileTree:
    return pb.FileTree(path=t.path, volume=t.volume)


def file_tree_from_pb(m: pb.FileTree) -> h.FileTree:
    return h.FileTree(m.path, m.volume)


def file_manifest_to_pb(f: h.FileManifest) -> pb.FileManifestReply:
    return pb.FileManifestReply(digest=f.digest, files=f.files, bytes=f.bytes)


def file_manifest_from_pb(m: pb.FileManifestReply) -> h.FileManifest:
    return h.FileManifest(m.digest, m.files, m.bytes)


def volume_spec_to_pb(v: h.VolumeSpec) -> pb.VolumeSpec:
    return pb.VolumeSpec(name=v.name, driver=v.driver, driver_opts=v.driver_opts, labels=v.labels)


def volume_spec_from_pb(m: pb.VolumeSpec) -> h.VolumeSpec:
    return h.VolumeSpec(m.name, m.driver, dict(m.driver_opts), dict(m.labels))


def volume_user_to_pb(u: h.VolumeUser) -> pb.VolumeUser:
    return pb.VolumeUser(
        container=u.container, project=u.project, service=u.service, running=u.running
    )


def volume_user_from_pb(m: pb.VolumeUser) -> h.VolumeUser:
    return h.VolumeUser(m.container, m.project, m.service, m.running)


def volume_to_pb(v: h.VolumeInfo) -> pb.VolumeInfo:
    return pb.VolumeInfo(
        name=v.name,
        exists=v.exists,
        driver=v.driver,
        driver_opts=v.driver_opts,
        labels=v.labels,
        mountpoint=v.mountpoint,
        empty=v.empty,
        size_bytes=v.size_bytes,
        used_by=[volume_user_to_pb(u) for u in v.used_by],
    )


def volume_from_pb(m: pb.VolumeInfo) -> h.VolumeInfo:
    return h.VolumeInfo(
        name=m.name,
        exists=m.exists,
        driver=m.driver,
        driver_opts=dict(m.driver_opts),
        labels=dict(m.labels),
        mountpoint=m.mountpoint,
        empty=m.empty,
        size_bytes=m.size_bytes,
        used_by=tuple(volume_user_from_pb(u) for u in m.used_by),
    )
