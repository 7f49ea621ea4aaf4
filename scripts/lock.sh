#!/usr/bin/env bash
# Re-resolves the workspace (uv.lock stays local: it records download URLs) and writes
# the committed hash-pinned exports: one for the dev environment, one per service image.
set -euo pipefail
cd "$(dirname "$0")/.."
uv lock ${UV_LOCK_ARGS:-}
uv export --quiet --frozen --all-packages --all-groups --no-emit-workspace --no-header \
  -o requirements/dev.txt
for dir in services/*/; do
  name="$(basename "$dir")"
  uv export --quiet --frozen --package "$name" --all-extras --no-dev --no-emit-workspace --no-header \
    -o "requirements/${name}.txt"
done
uv export --quiet --frozen --package platform-infra --no-dev --no-emit-workspace --no-header \
  -o requirements/infra.txt
if grep -lE '^[^#]*://' requirements/*.txt; then
  echo "lock: an export names a URL; refusing to leave it in the tree" >&2
  exit 1
fi
echo "lock: wrote $(ls requirements/*.txt | wc -l) hash-pinned exports in requirements/"
