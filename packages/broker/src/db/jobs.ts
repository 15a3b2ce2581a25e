// Durable job queue in the metadata database. A worker claims a due job by
// taking a lease (locked_until, locked_by) with one conditional UPDATE; if the
// broker dies the lease runs out and another worker takes it over, or the
// restarted broker (same worker id) takes its own back at once.
import { randomUUID } from "node:crypto";
import type { ExpressionBuilder, Kysely } from "kysely";
import type { Database, JobRow } from "./schema.ts";

/** A durable queue a worker drains (verification jobs, webhook deliveries): claimed with a lease. */
export interface WorkQueue<T extends { id: string }> {
  claim(options: { now: number; leaseMs: number }): Promise<T | undefined>;
  renew(options: { id: string; until: number }): Promise<void>;
  finish(item: T): Promise<void>;
  /** The handler threw: retry later (resolves to when it is due again), or give up (undefined). */
  fail(options: { item: T; error: string; now: number }): Promise<number | undefined>;
  /** Frees the leases this worker's previous process held (a restart), returning how many. */
  release?(): Promise<number>;
}

/** The jobs table as a work queue, claimed under `workerId` (stable across restarts of one broker). */
export function jobQueue(
  db: Kysely<Database>,
  options: { maxAttempts: number; backoff: Backoff; workerId: string },
): WorkQueue<JobRow> {
  return {
    claim: (claim) => claimJob(db, { ...claim, workerId: options.workerId }),
    release: () => releaseLeases(db, options.workerId),
    renew: (renew) => renewJob(db, renew),
    finish: (job) => finishJob(db, job.id),
    fail: ({ item, error, now }) => failJob(db, { job: item, error, now, ...options }),
  };
}

export async function enqueueJob(
  db: Kysely<Database>,
  options: { kind: string; uploadId: string; now?: number },
): Promise<string> {
  const now = options.now ?? Date.now();
  const id = randomUUID();
  await db
    .insertInto("jobs")
    .values({
      id,
      kind: options.kind,
      upload_id: options.uploadId,
      state: "queued",
      run_at: now,
      locked_until: null,
      locked_by: null,
      last_error: null,
      created_at: now,
    })
    .execute();
  return id;
}

export async function claimJob(
  db: Kysely<Database>,
  options: { now: number; leaseMs: number; workerId: string },
): Promise<JobRow | undefined> {
  const { now } = options;
  const free = (eb: ExpressionBuilder<Database, "jobs">) =>
    eb.or([eb("locked_until", "is", null), eb("locked_until", "<", now)]);
  return db
    .updateTable("jobs")
    .set((eb) => ({
      locked_until: now + options.leaseMs,
      locked_by: options.workerId,
      attempts: eb("attempts", "+", 1),
    }))
    .where("id", "=", (eb) =>
      eb
        .selectFrom("jobs")
        .select("id")
        .where("state", "=", "queued")
        .where("run_at", "<=", now)
        .where(free)
        .orderBy("run_at")
        .limit(1),
    )
    .where("state", "=", "queued")
    .where(free)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Frees the leases a worker id holds (its previous process died holding them):
 * called when a broker starts, so its jobs run again now, not when the lease runs out.
 */
export async function releaseLeases(db: Kysely<Database>, workerId: string): Promise<number> {
  const result = await db
    .updateTable("jobs")
    .set({ locked_until: null, locked_by: null })
    .where("locked_by", "=", workerId)
    .where("state", "=", "queued")
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function renewJob(db: Kysely<Database>, options: { id: string; until: number }): Promise<void> {
  await db
    .updateTable("jobs")
    .set({ locked_until: options.until })
    .where("id", "=", options.id)
    .where("state", "=", "queued")
    .execute();
}

export async function finishJob(db: Kysely<Database>, id: string): Promise<void> {
  await db
    .updateTable("jobs")
    .set({ state: "done", locked_until: null, locked_by: null })
    .where("id", "=", id)
    .execute();
}

export interface Backoff {
  /** Wait after the first failed attempt, doubled after each further one. */
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

/** How long a job waits after its `attempts`-th failed attempt. */
export function retryDelay(attempts: number, backoff: Backoff): number {
  return Math.min(backoff.maxRetryDelayMs, backoff.retryDelayMs * 2 ** Math.max(0, attempts - 1));
}

/** Retries later with backoff, or gives up after maxAttempts. */
export async function failJob(
  db: Kysely<Database>,
  options: { job: JobRow; error: string; maxAttempts: number; now: number; backoff: Backoff },
): Promise<number | undefined> {
  const { job } = options;
  const giveUp = job.attempts >= options.maxAttempts;
  const runAt = options.now + retryDelay(job.attempts, options.backoff);
  await db
    .updateTable("jobs")
    .set({
      state: giveUp ? "failed" : "queued",
      locked_until: null,
      locked_by: null,
      last_error: options.error.slice(0, 500),
      run_at: runAt,
    })
    .where("id", "=", job.id)
    .execute();
  return giveUp ? undefined : runAt;
}

export async function getJob(db: Kysely<Database>, id: string): Promise<JobRow | undefined> {
  return db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
}
