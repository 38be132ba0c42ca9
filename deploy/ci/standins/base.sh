#!/usr/bin/env bash
# Builds a local stand-in for the JRE base image named in the Dockerfile (Docker Hub cannot be reached from CI):
# Debian bookworm minbase + openjdk-17-jre-headless, plus curl and wget for the stand-ins and the smoke test.
# It proves the Dockerfile's own steps, not what is specific to the upstream image.
# Usage: base.sh WORKDIR IMAGE LABEL   (LABEL is stored as peftd.standin, to tell a stale image)
set -euo pipefail
work=$1; image=$2; label=$3
mirror=$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null | grep -m1 -v security || true)
mirror=${mirror:-http://deb.debian.org/debian/}
rm -rf "$work/rootfs"
debootstrap --variant=minbase --include=openjdk-17-jre-headless,ca-certificates,curl,wget \
  bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log"; exit 1; }
rm -rf "$work/rootfs"/var/cache/apt/archives/*.deb "$work/rootfs"/var/lib/apt/lists/*
tar -C "$work/rootfs" -c . \
  | podman import -q --change 'CMD ["bash"]' --change "LABEL peftd.standin=$label" - "$image" >/dev/null
rm -rf "$work/rootfs"
