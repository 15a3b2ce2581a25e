// Durable job queue in the metadata database. A worker claims a due job by
// taking a lease (locked_until) with one conditional UPDATE; if the broker dies
// the lease runs out and another worker (or the restarted one) takes it over.
import { randomUUID } from "node:crypto";
import type { ExpressionBuilder, Kysely } from "kysely";
import type { Database, JobRow } from "./schema.ts";

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
      last_error: null,
      created_at: now,
    })
    .execute();
  return id;
}

export async function claimJob(
  db: Kysely<Database>,
  options: { now: number; leaseMs: number },
): Promise<JobRow | undefined> {
  const { now } = options;
  const free = (eb: ExpressionBuilder<Database, "jobs">) =>
    eb.or([eb("locked_until", "is", null), eb("locked_until", "<", now)]);
  return db
    .updateTable("jobs")
    .set((eb) => ({ locked_until: now + options.leaseMs, attempts: eb("attempts", "+", 1) }))
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

export async function renewJob(db: Kysely<Database>, options: { id: string; until: number }): Promise<void> {
  await db
    .updateTable("jobs")
    .set({ locked_until: options.until })
    .where("id", "=", options.id)
    .where("state", "=", "queued")
    .execute();
}

export async function finishJob(db: Kysely<Database>, id: string): Promise<void> {
  await db.updateTable("jobs").set({ state: "done", locked_until: null }).where("id", "=", id).execute();
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
): Promise<void> {
  const { job } = options;
  const giveUp = job.attempts >= options.maxAttempts;
  await db
    .updateTable("jobs")
    .set({
      state: giveUp ? "failed" : "queued",
      locked_until: null,
      last_error: options.error.slice(0, 500),
      run_at: options.now + retryDelay(job.attempts, options.backoff),
    })
    .where("id", "=", job.id)
    .execute();
}

export async function getJob(db: Kysely<Database>, id: string): Promise<JobRow | undefined> {
  return db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
}
