#!/usr/bin/env bash
# End-to-end tests of the web UI against the REAL backend on generated demo data, in Debian Chromium.
# `make test` runs this after the unit tests (with E2E_SKIP_BUILD=1: `make setup` has built the UI).
#
#   1. install Debian's chromium if missing (apt-get), build the UI (npm ci + vite build) unless E2E_SKIP_BUILD=1
#   2. generate a small CX demo (cxw generate cx), build its metric cube (cxw metrics)
#   3. analyse it with the real `cxw analyze` (on that cube) and store the incidents (cxw job detect --incidents)
#   4. create an engineer and a pm token, start `cxw serve` on 127.0.0.1 at a free port
#   5. run e2e/*.spec.ts (vitest, node environment, playwright-core driving /usr/bin/chromium);
#      screenshots go to documents/screenshots/
# Any failure (install, data, analysis, server, a test) exits non-zero.
#
# Environment: CXW_PYTHON (python with the backend's requirements; default ROOT/.venv/bin/python),
# CXW_BACKEND_ROOT (repository whose backend/ to serve; default: this one), E2E_ORDERS (default 200000),
# E2E_SKIP_BUILD=1, E2E_KEEP=1 keeps the temporary folder, E2E_SCREENSHOTS (default documents/screenshots).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"          # frontend/
root="$(cd "$here/.." && pwd)"                    # repository root
backend_root="${CXW_BACKEND_ROOT:-$root}"
py="${CXW_PYTHON:-}"
if [ -z "$py" ]; then
  for cand in "$root/.venv/bin/python" "$backend_root/.venv/bin/python"; do
    [ -x "$cand" ] && { py="$cand"; break; }
  done
fi
[ -n "$py" ] || { echo "e2e: no python with the backend's requirements (run 'make setup' or set CXW_PYTHON)" >&2; exit 2; }

log() { printf 'e2e: [%3ds] %s\n' "$SECONDS" "$*" >&2; }

# 1. browser and build
if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian chromium"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null
  fi
fi
cd "$here"
if [ "${E2E_SKIP_BUILD:-0}" != 1 ]; then
  bash "$here/build.sh"
fi
[ -f "$here/dist/index.html" ] || { log "frontend/dist is not built"; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/cxw-e2e.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  if [ "${E2E_KEEP:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

gen() { (cd "$root" && PYTHONPATH="$root" "$py" -m backend.cli "$@"); }
svc() { (cd "$backend_root" && PYTHONPATH="$backend_root:$root" CXW_DATA_DIR="$work/state" \
          CXW_FRONTEND_DIST="$here/dist" CXW_ENV=development exec "$py" -m backend.cli "$@"); }

# 2. demo data
demo="$work/demo"
log "generating demo data in $demo"
{ gen generate cx --orders "${E2E_ORDERS:-200000}" --days 28 --seed 7 --scenario batching_policy --out "$demo" &&
  gen metrics "$demo/workspace.yaml" --out "$demo/cube"; } >"$work/data.log" 2>&1 || { cat "$work/data.log" >&2; exit 1; }

# 3. incidents: the real analysis (its log is shown only when it fails)
log "analysing with cxw analyze"
if ! svc analyze "$demo/workspace.yaml" --out "$work/analysis" --cube "$demo/cube/cube.parquet" >"$work/analyze.log" 2>&1; then
  tail -n 40 "$work/analyze.log" >&2
  log "cxw analyze failed"
  exit 1
fi
incidents="$work/analysis/incidents.json"
svc job detect "$demo/workspace.yaml" --incidents "$incidents" >"$work/detect.log" 2>&1 || { cat "$work/detect.log" >&2; exit 1; }
"$py" - "$incidents" >&2 <<'PY'
import json, sys
from collections import Counter
items = json.load(open(sys.argv[1]))["incidents"]
own = sum(1 for i in items if i.get("recommendations"))
status = Counter(i.get("recommendation_status") for i in items)
print(f"e2e: {len(items)} incident(s) stored: {own} with recommendations; status " + ", ".join(f"{k}: {v}" for k, v in sorted(status.items(), key=str)))
if not own:
    sys.exit("e2e: the analysis recommended nothing: the approval flow cannot be tested")
PY

# 4. tokens and server
E2E_ENGINEER_TOKEN="$(svc token create --role engineer --name e2e-engineer 2>/dev/null | tail -n 1)"
E2E_PM_TOKEN="$(svc token create --role pm --name e2e-pm 2>/dev/null | tail -n 1)"
port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
# not through svc: a function run with & is a subshell of its own, and $! would be that subshell's pid
(cd "$backend_root" && PYTHONPATH="$backend_root:$root" CXW_DATA_DIR="$work/state" CXW_FRONTEND_DIST="$here/dist" \
  CXW_ENV=development exec "$py" -m backend.cli serve --host 127.0.0.1 --port "$port" --log-level warning) \
  >"$work/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
healthy=0
for _ in $(seq 1 120); do
  if "$py" -c "import urllib.request,sys; urllib.request.urlopen('$base/api/health', timeout=1)" 2>/dev/null; then healthy=1; break; fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; log "server exited"; exit 1; }
  sleep 0.5
done
[ "$healthy" = 1 ] || { cat "$work/server.log" >&2; log "server not healthy after 60 s"; exit 1; }
log "server at $base; running the browser tests"

# 5. tests
export E2E_BASE_URL="$base" E2E_ENGINEER_TOKEN E2E_PM_TOKEN
export E2E_SCREENSHOTS="${E2E_SCREENSHOTS:-$root/documents/screenshots}"
mkdir -p "$E2E_SCREENSHOTS"
status=0
npx --no-install vitest run --config vitest.e2e.config.ts || status=$?
if [ "$status" != 0 ]; then log "server log:"; tail -n 40 "$work/server.log" >&2 || true; fi
log "done (exit $status)"
exit "$status"
