#!/usr/bin/env bash
# Real test infrastructure for Testcontainers on a machine with no Docker engine and no
# image registry. Prints what it does; safe to run repeatedly (everything is reused).
#
#   1. If no Docker daemon answers: install Debian's docker.io and start dockerd
#      (root on Debian only; anything else gets a clear message instead).
#   2. Postgres image: pull $TEST_POSTGRES_IMAGE (default postgres:16-alpine); if the pull
#      fails, build an equivalent image offline from Debian packages (debootstrap +
#      postgresql + an entrypoint honouring POSTGRES_USER/PASSWORD/DB) and tag it.
#   3. Prometheus and promtool (Debian's `prometheus`): promtool checks and unit-tests the
#      generated SLO rules, and the live-metrics test scrapes the platform with it.
#   4. Writes the environment the tests need to .cache/test-infra.env
#      (image name, Testcontainers connection mode, Ryuk switch).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/debian.sh

log() { echo "test-infra: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

WANT_IMAGE="${TEST_POSTGRES_IMAGE:-postgres:16-alpine}"
LOCAL_IMAGE="platform-test/postgres:15-debian"
ENV_FILE=".cache/test-infra.env"
mkdir -p .cache

docker_answers() { docker info >/dev/null 2>&1; }

ensure_docker() {
  if docker_answers; then log "Docker engine answers"; return; fi
  [[ "$(id -u)" == "0" ]] || die "no Docker engine answers and this user is not root: start Docker yourself (or run as root on Debian)"
  [[ -f /etc/debian_version ]] || die "no Docker engine answers and this is not Debian: install and start Docker yourself"
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing Debian's docker.io (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  log "starting dockerd (log: /var/log/dockerd-test-infra.log)"
  # Started detached (setsid) so it outlives this script and the test run.
  setsid nohup dockerd >/var/log/dockerd-test-infra.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do docker_answers && { log "dockerd is up"; return; }; sleep 1; done
  die "dockerd did not answer within 60 s (see /var/log/dockerd-test-infra.log)"
}

build_postgres_offline() {
  log "building $LOCAL_IMAGE from Debian packages (debootstrap + postgresql; about a minute)"
  ensure_debootstrap
  local mirror; mirror="$(host_debian_mirror)" || die "no Debian mirror configured for apt"
  local root; root="$(mktemp -d /tmp/pg-rootfs.XXXXXX)"
  debootstrap --variant=minbase --include=postgresql-15 bookworm "$root" \
    "$mirror" >/tmp/debootstrap-test-infra.log 2>&1 \
    || die "debootstrap failed (see /tmp/debootstrap-test-infra.log)"
  install -m 0755 scripts/postgres-entrypoint.sh "$root/usr/local/bin/docker-entrypoint.sh"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'EXPOSE 5432' \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    --change 'CMD ["postgres"]' \
    - "$LOCAL_IMAGE" >/dev/null
  rm -rf "$root"
  log "built $LOCAL_IMAGE ($(docker image inspect -f '{{.Size}}' "$LOCAL_IMAGE" | numfmt --to=iec))"
}

ensure_postgres_image() {
  if docker image inspect "$WANT_IMAGE" >/dev/null 2>&1; then IMAGE="$WANT_IMAGE"; return; fi
  if docker image inspect "$LOCAL_IMAGE" >/dev/null 2>&1; then
    log "reusing $LOCAL_IMAGE"; IMAGE="$LOCAL_IMAGE"; return
  fi
  log "pulling $WANT_IMAGE"
  if timeout 60 docker pull -q "$WANT_IMAGE" >/dev/null 2>&1; then IMAGE="$WANT_IMAGE"; return; fi
  log "pull failed (no registry reachable): falling back to an offline build"
  build_postgres_offline
  IMAGE="$LOCAL_IMAGE"
}

ensure_prometheus() {
  if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    log "prometheus and promtool present ($(promtool --version 2>&1 | head -1))"; return
  fi
  [[ "$(id -u)" == "0" && -f /etc/debian_version ]] \
    || die "promtool is missing: install Prometheus (Debian: apt-get install prometheus)"
  log "installing Debian's prometheus (promtool for the SLO rule tests)"
  apt-get update -qq >/dev/null
  # The package would start a system service; nothing here needs it running.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
  if command -v systemctl >/dev/null 2>&1; then systemctl stop prometheus >/dev/null 2>&1 || true; fi
}

ensure_docker
ensure_postgres_image
ensure_prometheus

# Ryuk (Testcontainers' reaper) is itself an image: disable it when it is not present,
# the session fixture stops its containers itself.
ryuk_disabled=true
docker image inspect testcontainers/ryuk:0.11.0 >/dev/null 2>&1 && ryuk_disabled=false

# This machine may look like a container to Testcontainers (/.dockerenv), which then
# picks the bridge gateway address; containers are reached only on 127.0.0.1.
cat > "$ENV_FILE" <<ENV
TEST_POSTGRES_IMAGE=$IMAGE
TESTCONTAINERS_RYUK_DISABLED=$ryuk_disabled
TESTCONTAINERS_CONNECTION_MODE=docker_host
TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
ENV
log "ready: image $IMAGE; environment in $ENV_FILE"
