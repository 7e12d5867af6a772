#!/usr/bin/env bash
# Install the exact dependencies (package-lock.json, `npm ci`) and build the UI into frontend/dist, which
# the backend serves at /. Idempotent and cheap when nothing changed: `npm ci` runs only when the lock
# file changed since the last install, the build only when a source is newer than dist/index.html.
# FORCE=1 rebuilds anyway.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "frontend: npm is not installed (Node.js 20+ is needed to build the UI)" >&2; exit 2; }
stamp=node_modules/.cxw-lock-hash
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
if [ "${FORCE:-0}" != 1 ] && [ -f dist/index.html ] && \
   [ -z "$(find src index.html package.json package-lock.json vite.config.ts tsconfig.json tsconfig.app.json \
            -newer dist/index.html -print -quit)" ]; then
  echo "frontend: dist/ is up to date"
  exit 0
fi
npm run build --silent
