// In-process worker for the durable job table. Jobs are claimed with a lease
// under the worker's id: jobs a crashed broker held are taken back at once when
// it restarts (same id), or by any worker once the lease runs out.
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { claimJob, failJob, finishJob, releaseLeases, renewJob } from "../db/jobs.ts";
import type { Database, JobRow } from "../db/schema.ts";

export interface Worker {
  readonly running: boolean;
  start(): void;
  /** Stops polling and waits for the job in hand. */
  stop(): Promise<void>;
  kick(): void;
  /** Resolves after the next pass over due jobs, or after timeoutMs. */
  idle(timeoutMs: number): Promise<void>;
}

/** A broker's default worker id: its host and data directory, so the same broker keeps the same id. */
export function defaultWorkerId(dataDir: string): string {
  return `${hostname()}:${createHash("sha256").update(dataDir).digest("hex").slice(0, 12)}`;
}

export function createWorker(options: {
  db: Kysely<Database>;
  log: Logger;
  handle(job: JobRow): Promise<void>;
  /** Stable across restarts of the same broker (jobs.workerId). */
  workerId: string;
  pollMs?: number;
  leaseMs?: number;
  maxAttempts?: number;
}): Worker {
  const pollMs = options.pollMs ?? 1000;
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 5;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let again = false;
  let waiters: Array<() => void> = [];
  // Leases this worker id holds were taken by its previous process: free them before the first claim.
  let reclaimed = false;

  async function drain(): Promise<void> {
    if (!reclaimed) {
      const count = await releaseLeases(options.db, options.workerId);
      reclaimed = true;
      if (count > 0) options.log.info({ jobs: count, worker: options.workerId }, "reclaimed job leases");
    }
    for (;;) {
      const now = Date.now();
      const job = await claimJob(options.db, { now, leaseMs, workerId: options.workerId });
      if (!job) return;
      try {
        // Long jobs (a whole-object digest) keep their lease alive; a crash lets it run out.
        const heartbeat = setInterval(() => {
          renewJob(options.db, { id: job.id, until: Date.now() + leaseMs }).catch(() => undefined);
        }, leaseMs / 3);
        try {
          await options.handle(job);
        } finally {
          clearInterval(heartbeat);
        }
        await finishJob(options.db, job.id);
      } catch (error) {
        options.log.warn({ job: job.id, kind: job.kind, err: (error as Error).message }, "job failed");
        await failJob(options.db, { job, error: (error as Error).message, maxAttempts, now: Date.now() });
      }
    }
  }

  function pass(): void {
    if (!running) return;
    if (current) {
      again = true;
      return;
    }
    clearTimeout(timer);
    current = drain()
      .catch((error) => options.log.error({ err: (error as Error).message }, "job queue unavailable"))
      .finally(() => {
        current = undefined;
        const done = waiters;
        waiters = [];
        for (const resolve of done) resolve();
        if (!running) return;
        if (again) {
          again = false;
          pass();
        } else {
          timer = setTimeout(pass, pollMs);
          timer.unref();
        }
      });
  }

  return {
    get running() {
      return running;
    },
    start() {
      running = true;
      pass();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await current;
    },
    kick: pass,
    idle(timeoutMs) {
      return new Promise((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
        pass();
      });
    },
  };
}
