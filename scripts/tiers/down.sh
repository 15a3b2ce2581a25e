#!/usr/bin/env bash
# Stops what scripts/tiers/up.sh started.   scripts/tiers/down.sh [rgw] [postgres]
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SHARED=${SLUICE_SHARED:-$ROOT/../shared}
TIERS_DIR=${SLUICE_TIERS_DIR:-/tmp/sluice-tiers}
tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(rgw postgres)
for tier in "${tiers[@]}"; do
  case "$tier" in
    rgw) [ -d "$TIERS_DIR/rgw" ] && RGW_DIR="$TIERS_DIR/rgw" "$SHARED/rgw/stop.sh" >/dev/null 2>&1 ;;
    postgres)
      PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
      if [ -d "$TIERS_DIR/postgres/data" ] && [ -n "$PGBIN" ]; then
        if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TIERS_DIR/postgres/data" -m fast stop >/dev/null 2>&1
        else "$PGBIN/pg_ctl" -D "$TIERS_DIR/postgres/data" -m fast stop >/dev/null 2>&1; fi
      fi
      rm -rf "$TIERS_DIR/postgres" ;;
  esac
done
exit 0
