#!/usr/bin/env bash
# A throwaway PostgreSQL server for the backend tests (Debian's `postgresql` package).
#   pg.sh install          install the server if it is missing (root: apt-get; idempotent)
#   pg.sh start PORT       initdb a cluster in a new temp folder and start it on 127.0.0.1:PORT;
#                          prints "URL DIR" (the folder is owned by postgres, so it cannot be under a 0700 dir)
#   pg.sh stop DIR         stop it and remove DIR
set -euo pipefail

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

install() {
  if find_bin >/dev/null; then return 0; fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "pg.sh: PostgreSQL is not installed and this is not a root Debian machine (install 'postgresql')" >&2
    return 1
  fi
  (
    flock 9
    if ! find_bin >/dev/null; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get install -y -q --no-install-recommends postgresql >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends postgresql >/dev/null; }
    fi
  ) 9>/tmp/cxw-pg-install.lock
  find_bin >/dev/null
}

as_owner() {  # run a command as the cluster's owner (initdb refuses root)
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  local port="$1" dir bin
  install
  bin="$(find_bin)"
  dir="$(mktemp -d "${TMPDIR:-/tmp}/cxw-pg.XXXXXX")"
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; chmod 700 "$dir"; fi
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  # Test settings: no durability (fsync off), small, loopback only, socket in DIR.
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -F -c full_page_writes=off -c synchronous_commit=off -c max_connections=200 -c shared_buffers=32MB" \
    start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
  echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres $dir"
}

stop() {
  local dir="$1" bin
  bin="$(find_bin)" || return 0
  if [ -d "$dir/data" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  install) install ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  *) echo "usage: pg.sh install | start PORT | stop DIR" >&2; exit 64 ;;
esac
