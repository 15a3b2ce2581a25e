/** Everything one upload run needs, passed to the PUT, POST and multipart senders. */
import type { BrokerApi } from "../broker-api.ts";
import type { ProgressMeter } from "../progress.ts";
import type { ResumeStore } from "../resume-state.ts";
import type { RetryPolicy } from "../retry.ts";
import type { UploadSource } from "../source.ts";
import type { Transport } from "../transport.ts";

export interface UploadContext {
  api: BrokerApi;
  transport: Transport;
  source: UploadSource;
  profile: string;
  retry: RetryPolicy;
  concurrency: number;
  meter: ProgressMeter;
  /** Aborted on pause, abort or the caller's signal. */
  signal: AbortSignal;
  resume?: { store: ResumeStore; fingerprint: string };
  /** Observability hook for retries (the CLI shows them with --verbose, tests count them). */
  onRetry?: (event: { partNumber?: number; code: string; attempt: number }) => void;
}
