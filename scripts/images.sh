#!/usr/bin/env bash
# Build every service image from the one services/Dockerfile (a stage per service; classic
# builder: no buildx needed) and, with --smoke, run each one read-only and check it answers
# /livez as a non-root user on the port its image exposes; prints build time and size per
# image (budget: 250 MB each).
#   scripts/images.sh            build all
#   scripts/images.sh --smoke    build all, then smoke-run them
set -euo pipefail
cd "$(dirname "$0")/.."
SERVICES=(gateway remote dumbkv predictor users catalog)
BUDGET_MB=250
base="$(bash scripts/base-image.sh)"
revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

status=0
for svc in "${SERVICES[@]}"; do
  package="$(basename "$(dirname "$(ls -d services/$svc/src/*/__init__.py | head -1)")")"
  if [[ ! -f "services/$svc/src/$package/__main__.py" ]]; then
    echo "images: $svc has no entrypoint yet (services/$svc/src/$package/__main__.py): skipped"
    continue
  fi
  start=$SECONDS
  if ! docker build --quiet -f services/Dockerfile --target "$svc" --build-arg "SERVICE=$svc" \
      --build-arg "BASE_IMAGE=$base" --build-arg "REVISION=$revision" -t "platform/$svc:dev" . >/tmp/image-build-$svc.log 2>&1; then
    echo "images: $svc build FAILED:"; tail -20 "/tmp/image-build-$svc.log"; status=1; continue
  fi
  size=$(( $(docker image inspect -f '{{.Size}}' "platform/$svc:dev") / 1000000 ))
  verdict=ok; (( size <= BUDGET_MB )) || { verdict="OVER BUDGET"; status=1; }
  echo "images: platform/$svc:dev built in $((SECONDS - start)) s, ${size} MB (budget ${BUDGET_MB} MB: $verdict)"
done
[[ "${1:-}" == "--smoke" ]] || exit $status

# smoke LABEL IMAGE PORT [docker run args before the image...] -- [command args...]
smoke() {
  local label=$1 image=$2 port=$3; shift 3
  local run_args=() cmd_args=()
  while (($#)) && [[ "$1" != "--" ]]; do run_args+=("$1"); shift; done
  (($#)) && shift && cmd_args=("$@")
  local name="smoke-$label-$$"
  docker run -d --rm --name "$name" --read-only --tmpfs /tmp --tmpfs /data:uid=10001,gid=10001 \
    --cap-drop ALL --security-opt no-new-privileges \
    -e AWS_REGION=us-east-1 -e USERS_TABLE=users -e USERS_AVATAR_BUCKET=avatars \
    -p "127.0.0.1::${port}" "${run_args[@]}" "$image" "${cmd_args[@]}" >/dev/null
  local hostport ok=no uid
  hostport="$(docker port "$name" "${port}/tcp" | head -1 | sed 's/.*://')"
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:${hostport}/livez" >/dev/null 2>&1; then ok=yes; break; fi
    sleep 0.2
  done
  uid="$(docker exec "$name" python -c 'import os; print(os.getuid())' 2>/dev/null || echo '?')"
  if [[ "$ok" == yes && "$uid" != "0" && "$uid" != "?" ]]; then
    echo "images: smoke $label ok (/livez answers, uid $uid, read-only root FS)"
  else
    echo "images: smoke $label FAILED (livez=$ok uid=$uid)"; docker logs "$name" 2>&1 | tail -20; status=1
  fi
  docker stop -t 10 "$name" >/dev/null 2>&1 || true
}

for svc in "${SERVICES[@]}"; do
  docker image inspect "platform/$svc:dev" >/dev/null 2>&1 || continue
  # The port the image EXPOSEs (services/Dockerfile says it once), e.g. {"8002/tcp":{}}.
  port="$(docker image inspect -f '{{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}' \
    "platform/$svc:dev" | cut -d/ -f1)"
  smoke "$svc" "platform/$svc:dev" "$port"
done
# The mock model backend ships in the predictor image (infra runs it with this command).
if docker image inspect platform/predictor:dev >/dev/null 2>&1; then
  smoke predictor-backend platform/predictor:dev 8006 -e BACKEND_HOST=0.0.0.0 \
    --entrypoint python -- -m model_backend
fi
exit $status
