// In-process worker pool for the durable job table: up to `concurrency` jobs
// at once, each claimed with a lease, so jobs left by a crashed broker are
// picked up again after a restart. A slot that frees up claims the next due
// job at once; otherwise the table is polled every pollMs.
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { type Backoff, claimJob, failJob, finishJob, renewJob, retryDelay } from "../db/jobs.ts";
import type { Database, JobRow } from "../db/schema.ts";

export interface Worker {
  readonly running: boolean;
  start(): void;
  /** Stops claiming and waits for the jobs in hand. */
  stop(): Promise<void>;
  kick(): void;
  /** Resolves when a job finished or a pass found nothing due, or after timeoutMs. */
  idle(timeoutMs: number): Promise<void>;
}

export function createWorker(options: {
  db: Kysely<Database>;
  log: Logger;
  handle(job: JobRow): Promise<void>;
  /** Jobs run at the same time (default 1). */
  concurrency?: number;
  pollMs?: number;
  leaseMs?: number;
  maxAttempts?: number;
  backoff?: Backoff;
}): Worker {
  const concurrency = options.concurrency ?? 1;
  const pollMs = options.pollMs ?? 1000;
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 5;
  const backoff = options.backoff ?? { retryDelayMs: 2000, maxRetryDelayMs: 60_000 };
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let claiming: Promise<void> | undefined;
  let again = false;
  const inFlight = new Set<Promise<void>>();
  let waiters: Array<() => void> = [];

  function wakeWaiters(): void {
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
  }

  async function run(job: JobRow): Promise<void> {
    // Long jobs (a whole-object digest, a scan) keep their lease alive; a crash lets it run out.
    const heartbeat = setInterval(() => {
      renewJob(options.db, { id: job.id, until: Date.now() + leaseMs }).catch(() => undefined);
    }, leaseMs / 3);
    try {
      await options.handle(job);
      await finishJob(options.db, job.id);
    } catch (error) {
      options.log.warn({ job: job.id, kind: job.kind, err: (error as Error).message }, "job failed");
      await failJob(options.db, {
        job,
        error: (error as Error).message,
        maxAttempts,
        now: Date.now(),
        backoff,
      }).catch((e) =>
        options.log.error({ job: job.id, err: (e as Error).message }, "could not record job failure"),
      );
      // A retry due before the next poll is claimed when due.
      const wait = retryDelay(job.attempts, backoff);
      if (wait < pollMs) setTimeout(pass, wait).unref();
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Claims due jobs until every slot is busy or nothing is due. */
  async function fill(): Promise<void> {
    while (running && inFlight.size < concurrency) {
      const job = await claimJob(options.db, { now: Date.now(), leaseMs });
      if (!job) return;
      const task: Promise<void> = run(job).finally(() => {
        inFlight.delete(task);
        wakeWaiters();
        pass();
      });
      inFlight.add(task);
    }
  }

  function pass(): void {
    if (!running) return;
    if (claiming) {
      again = true;
      return;
    }
    clearTimeout(timer);
    claiming = fill()
      .catch((error) => options.log.error({ err: (error as Error).message }, "job queue unavailable"))
      .finally(() => {
        claiming = undefined;
        if (inFlight.size === 0) wakeWaiters();
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
      await claiming;
      await Promise.all(inFlight);
      wakeWaiters();
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
