#!/usr/bin/env bash
# Install the exact dependencies (package-lock.json) and build the UI into frontend/dist, which the
# backend serves at /. Idempotent: npm ci only when the lock file changed since the last install.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.cxw-lock-hash
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
npm run build --silent
