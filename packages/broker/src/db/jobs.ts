// Durable job queue in the metadata database. A worker claims a due job by
// taking a lease (locked_until, locked_by) with one UPDATE; if the broker dies
// the lease runs out and another worker takes it over, or the restarted broker
// (same worker id) takes its own back at once. A claim is named by its attempt
// number: renewing, finishing or failing a job whose lease another worker has
// since taken changes nothing, so a job completes once.
import { randomUUID } from "node:crypto";
import { type Kysely, PostgresAdapter } from "kysely";
import type { Database, JobRow } from "./schema.ts";

/** A durable queue a worker drains (verification jobs, webhook deliveries): claimed with a lease. */
export interface WorkQueue<T extends { id: string }> {
  claim(options: { now: number; leaseMs: number }): Promise<T | undefined>;
  renew(options: { item: T; until: number }): Promise<void>;
  /** False when the lease was lost (another worker took the item over): nothing was changed. */
  finish(item: T): Promise<boolean>;
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
    renew: ({ item, until }) => renewJob(db, { job: item, until }),
    finish: (job) => finishJob(db, job),
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

/** The claim a worker holds: a later claim of the same job (after its lease ran out) has a higher attempt. */
type Claim = Pick<JobRow, "id" | "attempts">;

/** Whether claims can lock the row they take (PostgreSQL; SQLite has no row locks). */
export function locksRows(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Leases the next due job. On PostgreSQL the row is locked FOR UPDATE SKIP
 * LOCKED, so concurrent brokers each take a different job instead of all
 * racing for the first one; SQLite's single writer already serialises claims.
 */
export async function claimJob(
  db: Kysely<Database>,
  options: { now: number; leaseMs: number; workerId: string },
): Promise<JobRow | undefined> {
  const { now } = options;
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
        .where((free) => free.or([free("locked_until", "is", null), free("locked_until", "<", now)]))
        .orderBy("run_at")
        .limit(1)
        .$if(locksRows(db), (select) => select.forUpdate().skipLocked()),
    )
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

/** Extends the lease of a job still held under this claim. */
export async function renewJob(db: Kysely<Database>, options: { job: Claim; until: number }): Promise<void> {
  await db
    .updateTable("jobs")
    .set({ locked_until: options.until })
    .where("id", "=", options.job.id)
    .where("attempts", "=", options.job.attempts)
    .where("state", "=", "queued")
    .execute();
}

/** Marks a job done; false when another worker has taken it over since this claim. */
export async function finishJob(db: Kysely<Database>, job: Claim): Promise<boolean> {
  const result = await db
    .updateTable("jobs")
    .set({ state: "done", locked_until: null, locked_by: null })
    .where("id", "=", job.id)
    .where("attempts", "=", job.attempts)
    .where("state", "=", "queued")
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
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
    .where("attempts", "=", job.attempts)
    .where("state", "=", "queued")
    .execute();
  return giveUp ? undefined : runAt;
}

export async function getJob(db: Kysely<Database>, id: string): Promise<JobRow | undefined> {
  return db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
}
