import { existsSync } from "node:fs";

/**
 * The slower test tiers (Ceph RGW, PostgreSQL, Chromium) need servers that
 * `.ci/run` installs and starts (see scripts/tiers/up.sh). On a contributor's
 * machine without them a tier says so and skips; in CI (CI=true) a missing
 * tier is a failure, never a skip.
 */
export type TierResult<T> = { available: true; value: T } | { available: false; reason: string };

export function tierMissing<T>(reason: string): TierResult<T> {
  if (process.env.CI === "true") throw new Error(`CI tier missing: ${reason}`);
  return { available: false, reason };
}

export interface S3Target {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** A real Ceph RGW started by scripts/tiers/up.sh (env SLUICE_RGW_ENDPOINT, SLUICE_RGW_ACCESS_KEY, SLUICE_RGW_SECRET_KEY). */
export function rgwTier(): TierResult<S3Target> {
  const { SLUICE_RGW_ENDPOINT, SLUICE_RGW_ACCESS_KEY, SLUICE_RGW_SECRET_KEY } = process.env;
  if (!SLUICE_RGW_ENDPOINT || !SLUICE_RGW_ACCESS_KEY || !SLUICE_RGW_SECRET_KEY) {
    return tierMissing(
      'Ceph RGW not running: `eval "$(scripts/tiers/up.sh rgw)"` starts it (SLUICE_RGW_ENDPOINT unset)',
    );
  }
  return {
    available: true,
    value: {
      endpoint: SLUICE_RGW_ENDPOINT,
      region: "us-east-1",
      accessKeyId: SLUICE_RGW_ACCESS_KEY,
      secretAccessKey: SLUICE_RGW_SECRET_KEY,
    },
  };
}

/** A PostgreSQL server started by scripts/tiers/up.sh (env SLUICE_TEST_POSTGRES_URL). */
export function postgresTier(): TierResult<string> {
  const url = process.env.SLUICE_TEST_POSTGRES_URL;
  if (!url)
    return tierMissing(
      'PostgreSQL not running: `eval "$(scripts/tiers/up.sh postgres)"` starts it (SLUICE_TEST_POSTGRES_URL unset)',
    );
  return { available: true, value: url };
}

/** Debian's Chromium for playwright-core (env SLUICE_CHROMIUM overrides the path). */
export function chromiumTier(): TierResult<string> {
  const path = process.env.SLUICE_CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(path)) return tierMissing(`Chromium not found at ${path}: apt-get install chromium`);
  return { available: true, value: path };
}

/** Debian's clamd (clamav-daemon) for the scanning tests (env SLUICE_CLAMD overrides the path). */
export function clamdTier(): TierResult<string> {
  const path = process.env.SLUICE_CLAMD ?? "/usr/sbin/clamd";
  if (!existsSync(path)) return tierMissing(`clamd not found at ${path}: apt-get install clamav-daemon`);
  return { available: true, value: path };
}

/** A Debian command-line client (aws, s3cmd, rclone, python3 with boto3). */
export function binaryTier(path: string, debianPackage: string): TierResult<string> {
  if (!existsSync(path)) return tierMissing(`${path} not found: apt-get install ${debianPackage}`);
  return { available: true, value: path };
}

/** The flags Chromium needs on this closed, root-run machine. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;
