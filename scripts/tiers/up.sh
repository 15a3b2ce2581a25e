#!/usr/bin/env bash
# Starts the slower test tiers on 127.0.0.1 and prints `export` lines for the
# tests:   eval "$(scripts/tiers/up.sh [rgw] [postgres])"   (default: both)
# Stop them with scripts/tiers/down.sh. State lives under $SLUICE_TIERS_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SHARED=${SLUICE_SHARED:-$ROOT/../shared}
TIERS_DIR=${SLUICE_TIERS_DIR:-/tmp/sluice-tiers}
tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(rgw postgres)
mkdir -p "$TIERS_DIR"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for tier in "${tiers[@]}"; do
  case "$tier" in
    rgw)
      [ -x "$SHARED/rgw/start.sh" ] || { echo "up.sh: $SHARED/rgw/start.sh not found" >&2; exit 1; }
      export RGW_DIR="$TIERS_DIR/rgw" RGW_PORT=${RGW_PORT:-$(free_port)} RGW_MON_PORT=${RGW_MON_PORT:-$(free_port)}
      "$SHARED/rgw/start.sh" >"$TIERS_DIR/rgw-start.log" 2>&1 || { cat "$TIERS_DIR/rgw-start.log" >&2; exit 1; }
      # shellcheck disable=SC1091
      . "$RGW_DIR/env"
      echo "export SLUICE_RGW_ENDPOINT=$RGW_ENDPOINT SLUICE_RGW_ACCESS_KEY=$AWS_ACCESS_KEY_ID SLUICE_RGW_SECRET_KEY='$AWS_SECRET_ACCESS_KEY'"
      ;;
    postgres)
      PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
      [ -n "$PGBIN" ] || { echo "up.sh: PostgreSQL not installed (apt-get install postgresql)" >&2; exit 1; }
      PGDIR="$TIERS_DIR/postgres"
      [ -f "$PGDIR/port" ] && "$ROOT/scripts/tiers/down.sh" postgres >/dev/null 2>&1 || true
      rm -rf "$PGDIR" && mkdir -p "$PGDIR" && chown postgres "$PGDIR" 2>/dev/null || true
      PGPORT=$(free_port)
      as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
      as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >"$PGDIR/initdb.log" 2>&1
      as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w \
        -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
      echo "$PGPORT" >"$PGDIR/port"
      echo "export SLUICE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PGPORT/postgres"
      ;;
    *) echo "up.sh: unknown tier $tier (rgw, postgres)" >&2; exit 2 ;;
  esac
done
