#!/usr/bin/env bash
# Build (or reuse) the lab's systemd host image without any container registry.
#
#   lab/image/build.sh            prints the image reference on stdout
#
# The image is keyed on a hash of this recipe (this script, packages.txt and
# packages-apt.txt).
# A finished image is cached as a tarball under KUBEHA_CACHE_DIR
# (default /var/cache/kubeha) so it survives between runs and clones on the
# same machine; debootstrap runs only when the recipe changed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${KUBEHA_CACHE_DIR:-/var/cache/kubeha}
name=localhost/kubeha-lab
key=$(cat "$here/build.sh" "$here/packages.txt" "$here/packages-apt.txt" | sha256sum | cut -c1-12)
ref="$name:$key"
log() { printf 'image: %s\n' "$*" >&2; }

mkdir -p "$cache"
# One build at a time: the lab and the molecule scenarios (which the test suite runs side
# by side) may both ask for the image on a machine that has none yet.
# (bounded; the commands below do not inherit the lock's descriptor, so that no process
# they leave behind - podman's pause process - holds it)
exec 9>"$cache/image-build.lock"
flock -w 1800 9 || { log "another image build has held $cache/image-build.lock for 30 minutes"; exit 1; }
if podman image exists "$ref" 9>&-; then
  echo "$ref"; exit 0
fi
tarball="$cache/kubeha-lab-$key.tar"
if [ ! -s "$tarball" ]; then
  mirror=${KUBEHA_LAB_MIRROR:-}
  if [ -z "$mirror" ]; then
    # Use the Debian mirror this machine's apt already uses (no host is hard-coded).
    mirror=$(grep -rhoE '^(URIs:\s*|deb\s+(\[[^]]*\]\s+)?)\S+/debian/?(\s|$)' \
               /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
             | awk '{print $NF}' | head -n1 || true)
  fi
  [ -n "$mirror" ] || { log "no Debian mirror found in apt sources; set KUBEHA_LAB_MIRROR"; exit 1; }
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs" "$tarball.part"' EXIT
  pkgs=$(grep -vE '^\s*(#|$)' "$here/packages.txt" | paste -sd, -)
  log "debootstrap bookworm from $mirror (about a minute)"
  debootstrap --variant=minbase --include="$pkgs" bookworm "$rootfs" "$mirror" >&2 9>&-
  # A fresh machine-id per container; units that make no sense in a container.
  : > "$rootfs/etc/machine-id"
  for unit in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
              systemd-udev-trigger.service getty.target console-getty.service \
              systemd-remount-fs.service dev-hugepages.mount sys-fs-fuse-connections.mount \
              systemd-random-seed.service systemd-machine-id-commit.service e2scrub_reap.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  # Debian's etcd would start a single-node cluster on first boot: disable it
  # (not mask) and drop its data; the lab preparation forms the real cluster.
  chroot "$rootfs" systemctl disable etcd.service >&2
  # auditd cannot run in a container (ausearch reads log files without it).
  chroot "$rootfs" systemctl disable auditd.service >&2
  rm -rf "$rootfs/var/lib/etcd/default"
  # firewalld (with the nft command, for the tests' counters) in a second step:
  # polkitd's maintainer script cannot run inside debootstrap, but runs under
  # apt with services kept from starting (policy-rc.d). firewalld stays
  # disabled: the lab's firewall test starts it on a converged lab
  # (tests/lab/test_lb_firewalld.py), as an operator who adds it later would.
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  chroot "$rootfs" apt-get update -q >&2
  mapfile -t apt_pkgs < <(grep -vE '^\s*(#|$)' "$here/packages-apt.txt")
  chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${apt_pkgs[@]}" >&2
  chroot "$rootfs" systemctl disable firewalld.service >&2
  rm -f "$rootfs/usr/sbin/policy-rc.d" "$rootfs/etc/resolv.conf"
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/*
  tar -C "$rootfs" --numeric-owner -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
fi
log "importing $tarball as $ref"
podman import --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL=SIGRTMIN+3' \
  --change 'ENV container=podman' "$tarball" "$ref" >&2 9>&-
echo "$ref"
