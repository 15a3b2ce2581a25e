// Everything a request handler or a background worker needs, built once by
// createBroker and passed in (no globals).
import type { S3Client } from "@aws-sdk/client-s3";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { BrokerConfig } from "./config/schema.ts";
import type { Database, UploadRow } from "./db/schema.ts";
import type { Metrics } from "./http/metrics.ts";
import type { StorageTarget } from "./storage/target.ts";
import type { Scanner } from "./verification/scanners.ts";

/** The upload pipeline as completion sees it (verification/pipeline.ts). */
export interface UploadPipeline {
  /** Records the upload's checks and queues its first step, inside the completion's transaction. */
  start(db: Kysely<Database>, row: UploadRow): Promise<void>;
}

export interface BrokerContext {
  config: BrokerConfig;
  db: Kysely<Database>;
  s3: S3Client;
  target: StorageTarget;
  log: Logger;
  metrics: Metrics;
  /** Library users' content scanners, run before a file becomes ready. */
  scanners: Scanner[];
  pipeline: UploadPipeline;
  /** Checks /readyz adds to database and storage reachability. */
  readiness: Record<string, () => Promise<boolean>>;
  /** Wakes the verification worker after a job is queued. */
  kickWorker(): void;
  /** Wakes the webhook deliverer after an event was committed to the outbox. */
  kickWebhooks(): void;
  /** Signs a user token (HS256 with the broker's secret); undefined when tokens come from a JWKS only. */
  signUserToken?(options: {
    tenant: string;
    user: string;
    expiresIn: string;
    profiles?: string[];
  }): Promise<string>;
  /** Resolves when the upload left `uploaded` (or after timeoutMs). */
  waitForVerification(uploadId: string, timeoutMs: number): Promise<void>;
}
