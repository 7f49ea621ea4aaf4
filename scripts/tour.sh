#!/usr/bin/env bash
# A guided tour of every API through the gateway of a running platform (`make run` in
# another terminal). Prints each request and what came back.
#   GATEWAY=http://127.0.0.1:8000 scripts/tour.sh
# Writes need an API key: $API_KEY, else the dev admin key `make run` keeps in
# .data/gateway/dev-api-key.
set -uo pipefail
cd "$(dirname "$0")/.."
GATEWAY="${GATEWAY:-http://127.0.0.1:8000}"
API_KEY="${API_KEY:-$(cat "${PLATFORM_DATA_DIR:-.data}/gateway/dev-api-key" 2>/dev/null || true)}"
auth=()
[[ -n "$API_KEY" ]] && auth=(-H "Authorization: Api-Key $API_KEY")
hr() { printf '\n== %s\n' "$*"; }
call() { # method path [curl args...]
  local method=$1 path=$2; shift 2
  printf '%s %s\n' "$method" "$path"
  curl -sS -X "$method" "$GATEWAY$path" "${auth[@]}" -w '\n-> HTTP %{http_code} in %{time_total}s\n' "$@"
}

hr "GraphQL: hello and invoke (the flaky upstream, behind retries, hedging and a breaker)"
call POST /graphql -H 'content-type: application/json' -d '{"query":"{ hello }"}'
for word in alpha beta gamma; do
  call POST /graphql -H 'content-type: application/json' \
    -d "{\"query\":\"{ invoke(input: \\\"$word\\\") { latencyMs output cached } }\"}"
done

hr "Key-value store (dumbkv): write, read, conflict, delete"
key="tour-$RANDOM"
call PUT /api/kv -H 'content-type: application/json' -d "{\"key\":\"$key\",\"value\":\"hello\"}"
call POST /api/kv -H 'content-type: application/json' -d "{\"key\":\"$key\"}"
call PUT /api/kv -H 'content-type: application/json' -d "{\"key\":\"$key\",\"value\":\"again\"}"
call DELETE /api/kv -H 'content-type: application/json' -d "{\"key\":\"$key\"}"

hr "Predictor: two agents, batched per (model, agent type)"
call POST /api/predict -H 'content-type: application/json' -d '{"agents":{
  "a1":{"vector":[1,2,3],"model":"m1","agent_type":"planner"},
  "a2":{"vector":[0.5,0.5],"model":"m2","agent_type":"critic"}}}'

hr "Users: create one, list them"
email="tour-$RANDOM@example.com"
call POST /api/users -H 'content-type: application/json' -d "{\"name\":\"Tour Guide\",\"email\":\"$email\"}"
call GET "/api/users?limit=5"

hr "LLM catalog (Lambda handler behind the local adapter)"
call GET /api/llms
call GET "/api/llms?provider=Anthropic"

hr "Security: a write without credentials is refused (401), a read is open"
curl -sS -X PUT "$GATEWAY/api/kv" -H 'content-type: application/json' -d '{"key":"k","value":"v"}' \
  -w '\n-> HTTP %{http_code} (no Authorization header)\n'

hr "Health and SLOs"
call GET /readyz
call GET /slo

hr "Prometheus (started by make run): the gateway's SLO burn rates over 5 minutes"
PROMETHEUS="${PROMETHEUS:-http://127.0.0.1:${PROMETHEUS_PORT:-9090}}"
query='slo:sli_error:ratio_rate5m{service="gateway"}'
printf 'GET %s/api/v1/query?query=%s\n' "$PROMETHEUS" "$query"
# Rules see the tour's traffic after two scrapes (5 s apart): wait for it, 30 s at most.
for _ in $(seq 1 15); do
  answer="$(curl -sS -G "$PROMETHEUS/api/v1/query" --data-urlencode "query=$query" 2>/dev/null)" || {
    echo "(no Prometheus at $PROMETHEUS: install Debian's prometheus and restart make run)"; break; }
  [[ "$answer" == *'"result":[]'* ]] || break
  sleep 2
done
echo "${answer:-}"
