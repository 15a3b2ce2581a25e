// In-process worker for a durable queue (the job table, the webhook outbox).
// Items are claimed with a lease under the worker's id: what a crashed broker
// held is taken back at once when it restarts (same id), or by any worker once
// the lease runs out.
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { WorkQueue } from "../db/jobs.ts";

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

export function createWorker<T extends { id: string }>(options: {
  queue: WorkQueue<T>;
  log: Logger;
  handle(job: T): Promise<void>;
  pollMs?: number;
  leaseMs?: number;
}): Worker {
  const { queue } = options;
  const pollMs = options.pollMs ?? 1000;
  const leaseMs = options.leaseMs ?? 60_000;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let again = false;
  let waiters: Array<() => void> = [];
  // Leases this worker id holds were taken by its previous process: free them before the first claim.
  let reclaimed = false;

  async function drain(): Promise<void> {
    if (!reclaimed) {
      const count = (await queue.release?.()) ?? 0;
      reclaimed = true;
      if (count > 0) options.log.info({ jobs: count }, "reclaimed job leases");
    }
    for (;;) {
      const now = Date.now();
      const job = await queue.claim({ now, leaseMs });
      if (!job) return;
      try {
        // Long jobs (a whole-object digest) keep their lease alive; a crash lets it run out.
        const heartbeat = setInterval(() => {
          queue.renew({ id: job.id, until: Date.now() + leaseMs }).catch(() => undefined);
        }, leaseMs / 3);
        try {
          await options.handle(job);
        } finally {
          clearInterval(heartbeat);
        }
        await queue.finish(job);
      } catch (error) {
        options.log.warn({ job: job.id, err: (error as Error).message }, "job failed");
        await queue.fail({ item: job, error: (error as Error).message, now: Date.now() });
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
