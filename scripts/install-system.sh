#!/usr/bin/env bash
# Installs the Debian packages stackferry's demo and tests need (run as root).
set -euo pipefail
packages=(zfs-fuse docker.io docker-compose busybox-static postgresql socat rsync
          openssh-server openssh-client btrfs-progs iproute2 python3-venv make
          systemd chromium chromium-driver acl attr)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
fi
