#!/usr/bin/env bash
# Prints the base image the service images build FROM, making sure it exists locally.
#   1. $BASE_IMAGE if set (e.g. a mirror), else the official python:3.11-slim-bookworm;
#   2. if that cannot be pulled (no registry here), an equivalent built offline from
#      Debian packages (debootstrap: python3 + venv), tagged platform-base/python:3.11-bookworm.
# The offline base carries the host's CA bundle and sets SSL_CERT_FILE/PIP_CERT, because
# builds here reach PyPI through a TLS-intercepting proxy whose CA only the host trusts.
# Release images (GitHub Actions) use the official base and never contain that CA.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/debian.sh
log() { echo "base-image: $*" >&2; }

OFFICIAL="${BASE_IMAGE:-python:3.11-slim-bookworm}"
LOCAL="platform-base/python:3.11-bookworm"

if docker image inspect "$OFFICIAL" >/dev/null 2>&1; then echo "$OFFICIAL"; exit 0; fi
if docker image inspect "$LOCAL" >/dev/null 2>&1; then echo "$LOCAL"; exit 0; fi
if timeout 60 docker pull -q "$OFFICIAL" >/dev/null 2>&1; then echo "$OFFICIAL"; exit 0; fi

log "cannot pull $OFFICIAL: building $LOCAL from Debian packages (about a minute)"
ensure_debootstrap
mirror="$(host_debian_mirror)"
root="$(mktemp -d /tmp/base-rootfs.XXXXXX)"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" \
  "$mirror" >/tmp/debootstrap-base-image.log 2>&1 \
  || { log "debootstrap failed (see /tmp/debootstrap-base-image.log)"; exit 1; }
ca_bundle="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
install -D -m 0644 "$ca_bundle" "$root/etc/ssl/certs/build-ca-bundle.crt"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc \
  "$root"/usr/share/man "$root"/usr/share/locale
tar -C "$root" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/build-ca-bundle.crt' \
  --change 'ENV PIP_CERT=/etc/ssl/certs/build-ca-bundle.crt' \
  --change 'CMD ["python3"]' \
  - "$LOCAL" >/dev/null
rm -rf "$root"
log "built $LOCAL ($(docker image inspect -f '{{.Size}}' "$LOCAL" | numfmt --to=iec))"
echo "$LOCAL"
