#!/usr/bin/env bash
# `npm run demo`: installs dependencies on a fresh clone, then runs the demo (scripts/demo.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -x node_modules/.bin/tsx ]]; then
  echo "demo: installing dependencies (npm ci), once" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

exec node --import tsx scripts/demo.ts "$@"
