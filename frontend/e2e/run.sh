#!/usr/bin/env bash
# End-to-end tests of the web UI against the REAL backend on generated demo data, in Debian Chromium.
#
#   1. install Debian's chromium if missing (apt-get), build the UI (npm ci + vite build) unless E2E_SKIP_BUILD=1
#   2. generate a small CX demo (cxw generate cx), build its metric cube (cxw metrics)
#   3. analyse it (cxw analyze) and store the incidents (cxw job detect --incidents); while the analysis
#      stages are not installed, e2e/standin_incidents.py writes incidents.json from the cube and truth.json
#   4. create an engineer and a pm token, start `cxw serve` on 127.0.0.1 at a free port
#   5. run e2e/*.spec.ts (vitest, node environment, playwright-core driving /usr/bin/chromium);
#      screenshots go to documents/screenshots/
#
# Environment: CXW_PYTHON (python with the backend's requirements; default ROOT/.venv/bin/python),
# CXW_BACKEND_ROOT (repository whose backend/ to serve; default: this one), E2E_ORDERS (default 200000),
# E2E_KEEP=1 keeps the temporary folder, E2E_INCIDENTS=standin uses e2e/standin_incidents.py even when
# `cxw analyze` exists (only to test the UI while the analysis and the backend disagree on incidents.json).
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

log() { printf 'e2e: %s\n' "$*" >&2; }

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
gen generate cx --orders "${E2E_ORDERS:-200000}" --days 28 --seed 7 --scenario batching_policy --out "$demo" >/dev/null
gen metrics "$demo/workspace.yaml" --out "$demo/cube" >/dev/null

# 3. incidents
if [ "${E2E_INCIDENTS:-analyze}" != standin ] && svc analyze --help >/dev/null 2>&1; then
  log "analysing with cxw analyze"
  svc analyze "$demo/workspace.yaml" --out "$work/analysis" --cube "$demo/cube/cube.parquet" >/dev/null
  incidents="$work/analysis/incidents.json"
else
  log "stand-in incidents from the cube and truth.json (cxw analyze not installed, or E2E_INCIDENTS=standin)"
  incidents="$work/incidents.json"
  "$py" "$here/e2e/standin_incidents.py" "$demo" "$incidents"
fi
svc job detect "$demo/workspace.yaml" --incidents "$incidents"

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
for _ in $(seq 1 120); do
  if "$py" -c "import urllib.request,sys; urllib.request.urlopen('$base/api/health', timeout=1)" 2>/dev/null; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; log "server exited"; exit 1; }
  sleep 0.5
done
log "server at $base"

# 5. tests
export E2E_BASE_URL="$base" E2E_ENGINEER_TOKEN E2E_PM_TOKEN
export E2E_SCREENSHOTS="${E2E_SCREENSHOTS:-$root/documents/screenshots}"
mkdir -p "$E2E_SCREENSHOTS"
status=0
npx --no-install vitest run --config vitest.e2e.config.ts || status=$?
if [ "$status" != 0 ]; then log "server log:"; tail -n 40 "$work/server.log" >&2 || true; fi
exit "$status"
