// In-process worker pool for a durable queue (the job table, the webhook
// outbox): up to `concurrency` items at once, each claimed with a lease under
// the worker's id, so what a crashed broker held is taken back at once when it
// restarts (same id), or by any worker once the lease runs out. A slot that
// frees up claims the next due item at once; otherwise the queue is polled
// every pollMs.
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { WorkQueue } from "../db/jobs.ts";

export interface Worker {
  readonly running: boolean;
  start(): void;
  /** Stops claiming and waits for the items in hand. */
  stop(): Promise<void>;
  kick(): void;
  /** Resolves when an item finished or a pass found nothing due, or after timeoutMs. */
  idle(timeoutMs: number): Promise<void>;
}

/** A broker's default worker id: its host and data directory, so the same broker keeps the same id. */
export function defaultWorkerId(dataDir: string): string {
  return `${hostname()}:${createHash("sha256").update(dataDir).digest("hex").slice(0, 12)}`;
}

export function createWorker<T extends { id: string }>(options: {
  queue: WorkQueue<T>;
  log: Logger;
  handle(item: T): Promise<void>;
  /** Items handled at the same time (default 1). */
  concurrency?: number;
  pollMs?: number;
  leaseMs?: number;
}): Worker {
  const { queue } = options;
  const concurrency = options.concurrency ?? 1;
  const pollMs = options.pollMs ?? 1000;
  const leaseMs = options.leaseMs ?? 60_000;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let claiming: Promise<void> | undefined;
  let again = false;
  const inFlight = new Set<Promise<void>>();
  let waiters: Array<() => void> = [];
  // Leases this worker id holds were taken by its previous process: free them before the first claim.
  let reclaimed = false;

  function wakeWaiters(): void {
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
  }

  async function run(item: T): Promise<void> {
    // Long items (a whole-object digest, a scan) keep their lease alive; a crash lets it run out.
    const heartbeat = setInterval(() => {
      queue.renew({ item, until: Date.now() + leaseMs }).catch(() => undefined);
    }, leaseMs / 3);
    try {
      await options.handle(item);
      // Renewals failed for longer than the lease (database away, process stalled): another
      // worker has the item now, and its outcome stands.
      if (!(await queue.finish(item))) options.log.warn({ job: item.id }, "job lease lost to another worker");
    } catch (error) {
      options.log.warn({ job: item.id, err: (error as Error).message }, "job failed");
      const due = await queue.fail({ item, error: (error as Error).message, now: Date.now() }).catch((e) => {
        options.log.error({ job: item.id, err: (e as Error).message }, "could not record job failure");
        return undefined;
      });
      // A retry due before the next poll is claimed when due.
      if (due !== undefined && due - Date.now() < pollMs) setTimeout(pass, due - Date.now()).unref();
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Claims due items until every slot is busy or nothing is due. */
  async function fill(): Promise<void> {
    if (!reclaimed) {
      const count = (await queue.release?.()) ?? 0;
      reclaimed = true;
      if (count > 0) options.log.info({ jobs: count }, "reclaimed job leases");
    }
    while (running && inFlight.size < concurrency) {
      const item = await queue.claim({ now: Date.now(), leaseMs });
      if (!item) return;
      const task: Promise<void> = run(item).finally(() => {
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
