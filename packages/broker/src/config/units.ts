// Human-friendly sizes and durations in configuration files ("5MB", "15m").
// Sizes mean what their units say: KB, MB, GB, TB are powers of 1000 (SI);
// KiB, MiB, GiB, TiB are powers of 1024. A bare K, M, G, T is binary (as in dd).
// (Before 0.2, MB meant MiB: a configured "50MB" now means 50,000,000 bytes.)

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/**
 * A size the way a person would have written it: "50 MiB" for 52428800,
 * "50 MB" for 50000000 (exact in the unit when it can be), else "1.3 MiB".
 */
export function formatSize(bytes: number): string {
  for (const [unit, base] of [
    ["TiB", 1024 ** 4],
    ["TB", 1000 ** 4],
    ["GiB", 1024 ** 3],
    ["GB", 1000 ** 3],
    ["MiB", 1024 ** 2],
    ["MB", 1000 ** 2],
    ["KiB", 1024],
    ["KB", 1000],
  ] as const) {
    if (bytes >= base && bytes % base === 0) return `${bytes / base} ${unit}`;
  }
  if (bytes < 1024) return `${bytes} B`;
  const [unit, base] =
    bytes >= 1024 ** 3 ? ["GiB", 1024 ** 3] : bytes >= 1024 ** 2 ? ["MiB", 1024 ** 2] : ["KiB", 1024];
  return `${(bytes / base).toFixed(1)} ${unit}`;
}

/** Seconds as the largest exact unit: 2592000 → "30d", 5400 → "90m", 45 → "45s". */
export function formatDuration(seconds: number): string {
  for (const [unit, length] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (seconds >= length && seconds % length === 0) return `${seconds / length}${unit}`;
  }
  return `${seconds}s`;
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses "5MB", "1.5 GiB", "512" (bytes) or a number; undefined when malformed. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!match) return undefined;
  const unit = SIZE_UNITS[(match[2] || "b").toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Parses "15m", "1h", "30s", "7d" or a number of seconds; undefined when malformed. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/i.exec(value);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (DURATION_UNITS[(match[2] || "s").toLowerCase()] ?? 1));
}
