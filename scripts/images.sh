#!/usr/bin/env bash
# Build every service image (classic builder: no buildx needed) and, with --smoke, run
# each one read-only and check it answers /livez as a non-root user; prints build time
# and size per image (budget: 250 MB each).
#   scripts/images.sh            build all
#   scripts/images.sh --smoke    build all, then smoke-run them
set -euo pipefail
cd "$(dirname "$0")/.."
SERVICES=(gateway remote dumbkv predictor users catalog)
BUDGET_MB=250
base="$(bash scripts/base-image.sh)"
revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

declare -A port=([gateway]=8000 [remote]=8001 [dumbkv]=8002 [predictor]=8003 [users]=8004 [catalog]=8005)
status=0
for svc in "${SERVICES[@]}"; do
  package="$(basename "$(dirname "$(ls -d services/$svc/src/*/__init__.py | head -1)")")"
  if [[ ! -f "services/$svc/src/$package/__main__.py" ]]; then
    echo "images: $svc has no entrypoint yet (services/$svc/src/$package/__main__.py): skipped"
    continue
  fi
  start=$SECONDS
  if ! docker build --quiet -f "services/$svc/Dockerfile" --build-arg "BASE_IMAGE=$base" \
      --build-arg "REVISION=$revision" -t "platform/$svc:dev" . >/tmp/image-build-$svc.log 2>&1; then
    echo "images: $svc build FAILED:"; tail -20 "/tmp/image-build-$svc.log"; status=1; continue
  fi
  size=$(( $(docker image inspect -f '{{.Size}}' "platform/$svc:dev") / 1000000 ))
  verdict=ok; (( size <= BUDGET_MB )) || { verdict="OVER BUDGET"; status=1; }
  echo "images: platform/$svc:dev built in $((SECONDS - start)) s, ${size} MB (budget ${BUDGET_MB} MB: $verdict)"
done
[[ "${1:-}" == "--smoke" ]] || exit $status

for svc in "${SERVICES[@]}"; do
  docker image inspect "platform/$svc:dev" >/dev/null 2>&1 || continue
  name="smoke-$svc-$$"
  docker run -d --rm --name "$name" --read-only --tmpfs /tmp --tmpfs /data:uid=10001,gid=10001 \
    --cap-drop ALL --security-opt no-new-privileges \
    -e AWS_REGION=us-east-1 -e USERS_TABLE=users -e USERS_AVATAR_BUCKET=avatars \
    -p "127.0.0.1::${port[$svc]}" "platform/$svc:dev" >/dev/null
  hostport="$(docker port "$name" "${port[$svc]}/tcp" | head -1 | sed 's/.*://')"
  ok=no
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:${hostport}/livez" >/dev/null 2>&1; then ok=yes; break; fi
    sleep 0.2
  done
  uid="$(docker exec "$name" python -c 'import os; print(os.getuid())' 2>/dev/null || echo '?')"
  if [[ "$ok" == yes && "$uid" != "0" && "$uid" != "?" ]]; then
    echo "images: smoke $svc ok (/livez answers, uid $uid, read-only root FS)"
  else
    echo "images: smoke $svc FAILED (livez=$ok uid=$uid)"; docker logs "$name" 2>&1 | tail -20; status=1
  fi
  docker stop -t 10 "$name" >/dev/null 2>&1 || true
done
exit $status
