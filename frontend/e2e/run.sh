#!/usr/bin/env bash
# End-to-end tests of the web UI against the REAL backend, on exactly what `make demo` leaves (at a smaller
# size), in Debian Chromium. `make test` runs this after the unit tests (with E2E_SKIP_BUILD=1: `make setup`
# has built the UI).
#
#   1. install Debian's chromium if missing (apt-get); build the UI unless E2E_SKIP_BUILD=1
#   2. the demo, made by scripts/demo-data.sh (the recipe of `make demo` and `make demo-data`, nothing added)
#      in a temporary folder: CX orders analysed by `cxw analyze` and stored with the workspace's cube by
#      `cxw job detect`, a billing migration reconciled, a platform migration's signals loaded and
#      analysed, an engineer and a PM token
#   3. `cxw serve` on that state (CXW_DATA_DIR = the demo's service/) at a free port of 127.0.0.1
#   4. every e2e/*.spec.ts (vitest, node environment, playwright-core driving /usr/bin/chromium), one file
#      after another, against that one server and state; screenshots go to documents/screenshots/
# Any failure (install, data, server, a test) exits non-zero.
#
# What every spec gets, in the environment (e2e/browser.ts reads them; a spec imports them from there):
#   E2E_BASE_URL        the server, e.g. http://127.0.0.1:41234 (the UI at /, the API under /api)
#   E2E_ENGINEER_TOKEN  an engineer's token, named E2E_ENGINEER_NAME (demo-engineer: the API's "decided_by",
#                       "actor", "created_by" of what the spec does with it)
#   E2E_PM_TOKEN        a PM's (read-only) token, named E2E_PM_NAME (demo-pm)
#   E2E_DEMO_DIR        the demo folder, laid out as scripts/demo-data.sh says: workspace.yaml and truth.json
#                       (the CX workspace), analysis/ (incidents.json, report.md), billing/ (legacy.csv,
#                       migrated.csv, truth.json), reconciliation/, signals/ (signals.jsonl, truth.json)
#   E2E_DATA_DIR        the server's data folder (E2E_DEMO_DIR/service: cxw.db, cubes/)
#   E2E_SCREENSHOTS     where screenshots go (documents/screenshots/)
# The specs share the state, one file at a time in an unspecified order: a spec may change what it creates
# or picks for itself (approve a proposal, resolve an incident) but must not rely on another spec's changes.
#
# Settings: CXW_PYTHON (python with the backend's requirements; default ROOT/.venv/bin/python),
# CXW_BACKEND_ROOT (the repository whose code makes and serves the demo; default: this one), E2E_ORDERS
# (default 200000), E2E_ACCOUNTS (50000), E2E_MERCHANTS (400), E2E_SKIP_BUILD=1, E2E_KEEP=1 keeps the
# temporary folder, E2E_SCREENSHOTS; arguments are passed to vitest (e.g. `run.sh e2e/signals.spec.ts`).
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

# 2. the demo, by the demo's own recipe (its log is shown only when it fails)
demo="$work/demo"
export PYTHONPATH="$backend_root:$root"
log "making the demo in $demo (scripts/demo-data.sh, ${E2E_ORDERS:-200000} orders)"
if ! tokens="$(cd "$backend_root" && DEMO_DIR="$demo" DEMO_ORDERS="${E2E_ORDERS:-200000}" \
      DEMO_ACCOUNTS="${E2E_ACCOUNTS:-50000}" DEMO_MERCHANTS="${E2E_MERCHANTS:-400}" \
      CXW="$py -m backend.cli" CXW_ENV=development bash "$root/scripts/demo-data.sh" 2>"$work/demo.log")"; then
  tail -n 40 "$work/demo.log" >&2
  log "the demo failed"
  exit 1
fi
grep '^demo: \[' "$work/demo.log" >&2 || true
E2E_ENGINEER_TOKEN="$(sed -n 's/^engineer token: //p' <<<"$tokens")"
E2E_PM_TOKEN="$(sed -n 's/^pm token: //p' <<<"$tokens")"
[ -n "$E2E_ENGINEER_TOKEN" ] && [ -n "$E2E_PM_TOKEN" ] || { log "the demo printed no tokens"; exit 1; }
"$py" - "$demo/analysis/incidents.json" >&2 <<'PY'
import json, sys
from collections import Counter
items = json.load(open(sys.argv[1]))["incidents"]
own = sum(1 for i in items if i.get("recommendations"))
status = Counter(i.get("recommendation_status") for i in items)
print(f"e2e: {len(items)} incident(s) stored: {own} with recommendations; status " + ", ".join(f"{k}: {v}" for k, v in sorted(status.items(), key=str)))
if not own:
    sys.exit("e2e: the analysis recommended nothing: the approval flow cannot be tested")
PY

# 3. the server, as `make demo-serve` starts it
port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
(cd "$backend_root" && CXW_DATA_DIR="$demo/service" CXW_FRONTEND_DIST="$here/dist" CXW_ENV=development \
  exec "$py" -m backend.cli serve --host 127.0.0.1 --port "$port" --log-level warning) >"$work/server.log" 2>&1 &
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

# 4. the specs
export E2E_BASE_URL="$base" E2E_ENGINEER_TOKEN E2E_PM_TOKEN E2E_ENGINEER_NAME=demo-engineer E2E_PM_NAME=demo-pm
export E2E_DEMO_DIR="$demo" E2E_DATA_DIR="$demo/service"
export E2E_SCREENSHOTS="${E2E_SCREENSHOTS:-$root/documents/screenshots}"
mkdir -p "$E2E_SCREENSHOTS"
status=0
npx --no-install vitest run --config vitest.e2e.config.ts "$@" || status=$?
if [ "$status" != 0 ]; then log "server log:"; tail -n 40 "$work/server.log" >&2 || true; fi
log "done (exit $status)"
exit "$status"
