#!/usr/bin/env bash
# Starts what the demo and the tests run against, idempotently (run as root):
# zfs-fuse, two Docker engines ("host A" on the default socket, "host B" on
# $SF_HOSTB_DIR/docker.sock), a PostgreSQL cluster on 127.0.0.1:5432 with a
# stackferry role, and the local busybox image on both engines.
set -euo pipefail
HOSTB=${SF_HOSTB_DIR:-/run/stackferry-hostb}
wait_for() { # seconds, description, command...
  local n=$1 what=$2; shift 2
  for _ in $(seq 1 $((n * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "start-services: $what did not come up" >&2; return 1
}

if ! pgrep -x zfs-fuse >/dev/null; then
  rm -f /run/zfs-fuse.pid /var/run/zfs-fuse.pid
  zfs-fuse --pidfile /run/zfs-fuse.pid
fi
wait_for 20 zfs-fuse zpool list

if ! docker -H unix:///var/run/docker.sock info >/dev/null 2>&1; then
  mkdir -p /var/log/stackferry
  nohup dockerd --iptables=false --bridge=none --storage-driver=vfs \
    >/var/log/stackferry/dockerd-a.log 2>&1 &
fi
if ! docker -H "unix://$HOSTB/docker.sock" info >/dev/null 2>&1; then
  mkdir -p "$HOSTB" /var/log/stackferry
  nohup dockerd --iptables=false --bridge=none --storage-driver=vfs \
    -H "unix://$HOSTB/docker.sock" --data-root "$HOSTB/data" --exec-root "$HOSTB/exec" \
    --pidfile "$HOSTB/docker.pid" >/var/log/stackferry/dockerd-b.log 2>&1 &
fi
wait_for 60 "docker engine A" docker -H unix:///var/run/docker.sock info
wait_for 60 "docker engine B" docker -H "unix://$HOSTB/docker.sock" info

build_image() { # docker host
  docker -H "$1" image inspect local/busybox:1 >/dev/null 2>&1 && return 0
  local root; root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/www"
  cp /bin/busybox "$root/bin/"
  for c in sh ls cat echo sleep httpd date wc tail head md5sum sync mkdir rm true false test; do
    ln -s busybox "$root/bin/$c"
  done
  tar -C "$root" -c . | docker -H "$1" import -c 'CMD ["sh"]' - local/busybox:1 >/dev/null
  rm -rf "$root"
}
build_image unix:///var/run/docker.sock
build_image "unix://$HOSTB/docker.sock"

PGVER=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$PGVER main"; then
  pg_createcluster "$PGVER" main >/dev/null
fi
pg_ctlcluster "$PGVER" main start 2>/dev/null || true
wait_for 30 postgresql su postgres -c "psql -c 'select 1'"
su postgres -c "psql -q -tc \"select 1 from pg_roles where rolname='stackferry'\"" | grep -q 1 ||
  su postgres -c "psql -q -c \"create role stackferry login superuser password 'stackferry'\""
su postgres -c "psql -q -tc \"select 1 from pg_database where datname='stackferry_test'\"" | grep -q 1 ||
  su postgres -c "psql -q -c 'create database stackferry_test owner stackferry'"
echo "services up: zfs-fuse, docker A (/var/run/docker.sock), docker B ($HOSTB/docker.sock), postgresql ($PGVER)"
