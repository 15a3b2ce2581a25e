/**
 * Exit codes scripts can rely on (also listed by `sluice --help`).
 */
import { SluiceError } from "@sluice/core";

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  refused: 5,
  unavailable: 6,
  interrupted: 130,
} as const;

export const EXIT_HELP = `Exit codes:
  0    success
  1    unexpected failure
  2    usage error (unknown command or option, bad value, invalid configuration)
  3    not authenticated or not allowed (log in, check the token)
  4    not found (file, link or upload id)
  5    refused by the broker or storage (size, type, quota, conflict, checksum)
  6    broker or storage unreachable or failing (network, 5xx); retry later
  130  interrupted (Ctrl-C); an interrupted upload resumes when run again`;

/** Bad arguments or configuration, caught before anything was sent. */
const LOCAL_INPUT = new Set([
  "Usage",
  "FileNotFound",
  "NotAFile",
  "InvalidInput",
  "SizeRequired",
  "InvalidConfig",
]);

export function exitCodeFor(error: unknown): number {
  if (!(error instanceof SluiceError)) return EXIT.failure;
  if (error.code === "Aborted") return EXIT.interrupted;
  if (LOCAL_INPUT.has(error.code)) return EXIT.usage;
  const { status } = error;
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 0 || status === 429 || status >= 500) return EXIT.unavailable;
  if (status >= 400) return EXIT.refused;
  return EXIT.failure;
}

export function usageError(message: string): SluiceError {
  return new SluiceError({ code: "Usage", status: 400, message });
}
