#!/usr/bin/env bash
# Installs the Debian packages the test tiers use, when missing: the real S3
# clients (aws CLI v2, boto3, s3cmd, rclone), PostgreSQL, Chromium, clamd,
# exiftool and zip (the scanning and metadata tests start their own clamd),
# and Ceph RGW through ../shared/rgw/install.sh. Idempotent; needs root.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SLUICE_SHARED:-$ROOT/../shared}
PKGS=(awscli python3-boto3 s3cmd rclone postgresql chromium curl redis-server zip unzip clamav-daemon libimage-exiftool-perl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ci-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$SHARED/rgw/install.sh" >/dev/null
echo "ci-deps: ok"
