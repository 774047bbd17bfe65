#!/usr/bin/env bash
# System packages imgfactory and its tests use, all from Debian's archive. Run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  debootstrap mmdebstrap          # bootstrap root filesystems
  gnupg gpgv debian-archive-keyring  # gpgv for debootstrap/apt; gpg for tests and key import
  attr libcap2-bin                # getfattr (xattrs in layers), setcap (tests)
  umoci                           # unpack a parent image's layers for a from: child
  skopeo podman runc uidmap       # consumers: signature checks, pull, run
  docker-registry apache2-utils openssl  # the local registry: distribution 2.8, htpasswd, TLS
  systemd-container lxc          # machine-container consumers of imgfactory export: nspawn, lxc-create
  xz-utils ca-certificates        # xz: LXC image tarballs
  apt-utils                       # apt-ftparchive: the controlled test archive of update checks
  qemu-user-static binfmt-support arch-test  # foreign architectures (arm64 on amd64): binfmt_misc with the F flag; arch-test for mmdebstrap
)
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "installed: ${packages[*]}" | tr -s ' '
