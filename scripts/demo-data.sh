#!/usr/bin/env bash
# The demo's data and service state, made from nothing: what `make demo` serves (1M orders) and what the
# browser tests (frontend/e2e/run.sh) run against (the same steps at a smaller size). Settings come from
# the environment:
#
#   DEMO_DIR        the folder to (re)create (default: demo); a folder this script made is replaced, any
#                   other non-empty folder is refused
#   DEMO_ORDERS     CX orders (default 1000000)       DEMO_ACCOUNTS   billing accounts (default 200000)
#   DEMO_MERCHANTS  merchants of the simulated platform migration (default 400)
#   CXW             the command line to run cxw with (default: .venv/bin/cxw)
#
# What DEMO_DIR holds afterwards (README, "The demo"):
#   workspace.yaml, orders/, change_events.csv, truth.json   the CX workspace (cxw generate cx, seed 7, batching policy)
#   analysis/      incidents.json, report.md and whatif/ (each incident's what-if model) of `cxw analyze`
#   billing/, reconciliation/   a billing migration pair (cxw generate billing-migration) and its reconciliation
#   signals/       a simulated platform migration's signals (cxw signals simulate) with truth.json
#   service/       the server's state (CXW_DATA_DIR): cxw.db (workspace, incidents, proposals, signals,
#                  their analysis, tokens, audit trail), cubes/1/ (the workspace's metric cube, stored by
#                  `cxw job detect`, which the UI's series and drill-down read) and whatif/1/ (the what-if
#                  models the job took from analysis/whatif: the UI's what-if answers from them)
#   .cxw-demo      this script's mark: the settings, then "complete" when every step succeeded
#
# Output: progress and every command's own output on stderr; on stdout only two lines, the tokens to sign
# in with: "engineer token: ..." and "pm token: ..." (tokens are stored hashed; they are not written to disk).
set -euo pipefail
exec 3>&1 1>&2

dir="${DEMO_DIR:-demo}"
orders="${DEMO_ORDERS:-1000000}"
accounts="${DEMO_ACCOUNTS:-200000}"
merchants="${DEMO_MERCHANTS:-400}"
read -r -a cxw <<<"${CXW:-.venv/bin/cxw}"
for setting in "DEMO_ORDERS=$orders" "DEMO_ACCOUNTS=$accounts" "DEMO_MERCHANTS=$merchants"; do
  [[ "${setting#*=}" =~ ^[1-9][0-9]*$ ]] || { echo "demo: $setting: expected a positive whole number" >&2; exit 2; }
done

log() { printf 'demo: [%3ds] %s\n' "$SECONDS" "$*" >&2; }

# start over: replace a demo this script made (or one in the layout `make demo` wrote before the mark)
if [ -e "$dir" ]; then
  if [ -f "$dir/.cxw-demo" ] || { [ -f "$dir/workspace.yaml" ] && [ -f "$dir/truth.json" ] &&
                                  [ -d "$dir/analysis" ] && [ -f "$dir/service/cxw.db" ]; }; then
    log "replacing the previous demo in $dir"
    rm -rf -- "$dir"
  elif [ -d "$dir" ] && [ -z "$(ls -A -- "$dir")" ]; then
    rmdir -- "$dir"
  else
    echo "demo: $dir exists and is not a demo made by 'make demo'; remove it or choose another DEMO_DIR" >&2
    exit 2
  fi
fi

run() { "${cxw[@]}" "$@"; }
svc() { CXW_DATA_DIR="$dir/service" "${cxw[@]}" "$@"; }

log "CX orders: $orders with the batching-policy regression"
run generate cx --orders "$orders" --days 28 --seed 7 --scenario batching_policy --out "$dir"
dir="$(cd -- "$dir" && pwd)"
printf 'orders=%s accounts=%s merchants=%s\n' "$orders" "$accounts" "$merchants" >"$dir/.cxw-demo"
log "analysing them (cxw analyze)"
run analyze "$dir/workspace.yaml" --out "$dir/analysis"
log "storing the incidents and the workspace's cube in the service (cxw job detect)"
svc job detect "$dir/workspace.yaml" --incidents "$dir/analysis/incidents.json"

log "billing migration: $accounts accounts, reconciled (cxw reconcile; exit 1 = the systems differ, as injected)"
run generate billing-migration --accounts "$accounts" --seed 7 --out "$dir/billing"
status=0
run reconcile --legacy "$dir/billing/legacy.csv" --migrated "$dir/billing/migrated.csv" \
  --key account_id --tolerance balance=0.01 --out "$dir/reconciliation" || status=$?
[ "$status" -le 1 ] || exit "$status"
log "recording the reconciliation in the service (cxw reconciliations import: the Reconciliations page)"
svc reconciliations import "$dir/reconciliation" --name "billing migration (demo)" >/dev/null

log "platform migration signals: $merchants merchants over 14 days, loaded and analysed"
run signals simulate --out "$dir/signals" --merchants "$merchants" --days 14 --seed 7
svc signals load "$dir/signals/signals.jsonl"
svc signals job

engineer="$(svc token create --role engineer --name demo-engineer | tail -n 1)"
pm="$(svc token create --role pm --name demo-pm | tail -n 1)"
echo complete >>"$dir/.cxw-demo"
log "done in $dir"
echo >&2
echo "Report:     $dir/analysis/report.md   (truth: $dir/truth.json)" >&2
echo "Migration:  $dir/reconciliation/report.md   (truth: $dir/billing/truth.json; UI: /reconciliations)" >&2
echo "Sign in with one of these tokens (engineer, then PM read-only); they are not shown again:" >&2
printf 'engineer token: %s\npm token: %s\n' "$engineer" "$pm" >&3
