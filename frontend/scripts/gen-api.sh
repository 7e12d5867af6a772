#!/usr/bin/env bash
# Regenerate the typed API client's schema from the backend's OpenAPI spec:
#   src/api/openapi.json  (the spec, dumped from the FastAPI app without starting a server)
#   src/api/schema.d.ts   (openapi-typescript types that openapi-fetch checks every call against)
# Usage: scripts/gen-api.sh [--check] [BACKEND_REPO_ROOT]   (default root: this repository's)
#   --check  change nothing; exit 1 when the committed spec differs from the backend's (API drift)
set -euo pipefail
check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
here="$(cd "$(dirname "$0")/.." && pwd)"
root="${1:-$(cd "$here/.." && pwd)}"
py="${CXW_PYTHON:-}"
if [ -z "$py" ]; then
  for cand in "$root/.venv/bin/python" "$here/../.venv/bin/python" python3; do
    if command -v "$cand" >/dev/null 2>&1; then py="$cand"; break; fi
  done
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && CXW_DATA_DIR="$tmp" PYTHONPATH="$root" "$py" -c \
  "import json, sys; from backend.api.main import create_app; json.dump(create_app().openapi(), sys.stdout, indent=1, sort_keys=True)") \
  > "$tmp/openapi.json"
if [ "$check" = 1 ]; then
  if cmp -s "$tmp/openapi.json" "$here/src/api/openapi.json"; then
    echo "api: frontend/src/api/openapi.json matches the backend"
    exit 0
  fi
  echo "api: the backend's OpenAPI spec changed; run 'bash frontend/scripts/gen-api.sh', fix the type errors, commit" >&2
  diff <(grep -o '"/api/[^"]*"' "$here/src/api/openapi.json" | sort -u) <(grep -o '"/api/[^"]*"' "$tmp/openapi.json" | sort -u) >&2 || true
  exit 1
fi
mv "$tmp/openapi.json" "$here/src/api/openapi.json"
cd "$here"
npx --no-install openapi-typescript src/api/openapi.json -o src/api/schema.d.ts
echo "api: src/api/openapi.json and src/api/schema.d.ts regenerated from $root"
