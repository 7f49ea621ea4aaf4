#!/usr/bin/env bash
# Creates .venv from the committed hash-pinned pins (requirements/dev.txt) plus every
# workspace member installed editable. Idempotent and cheap when nothing changed: a
# stamp records the hash of everything that decides the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION="0.13.9"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv ${UV_VERSION} with pip"
  "$PYTHON" -m pip install --quiet "uv==${UV_VERSION}"
fi

# `make run` starts a local Prometheus when Debian's package is there; install it once
# if this machine can (root on Debian), else `make run` says it runs without one.
if ! command -v prometheus >/dev/null 2>&1; then
  if [[ "$(id -u)" == "0" && -f /etc/debian_version ]]; then
    echo "bootstrap: installing Debian's prometheus (local metrics for make run)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null \
      || echo "bootstrap: could not install prometheus; make run goes on without it"
  fi
fi

MEMBERS=(libs/*/ services/*/)
stamp_inputs() {
  cat requirements/dev.txt
  for m in "${MEMBERS[@]}"; do cat "$m/pyproject.toml"; done
  cat infra/pyproject.toml
}
want="$(stamp_inputs | sha256sum | cut -d' ' -f1)"
if [[ -f .venv/.bootstrap-stamp && "$(cat .venv/.bootstrap-stamp)" == "$want" ]]; then
  exit 0
fi

echo "bootstrap: building .venv from requirements/dev.txt (hash-pinned)"
[[ -x .venv/bin/python ]] || uv venv --quiet --python "$PYTHON" .venv
export VIRTUAL_ENV="$PWD/.venv"
uv pip sync --quiet --require-hashes requirements/dev.txt
editable=()
for m in "${MEMBERS[@]}"; do editable+=(-e "${m%/}"); done
uv pip install --quiet --no-deps "${editable[@]}"
echo "$want" > .venv/.bootstrap-stamp
echo "bootstrap: .venv ready ($(.venv/bin/python --version))"
