// Queries on uploads (grants and the files they become). Every read that a
// client can trigger is scoped to the owner.
import type { Kysely } from "kysely";
import type { Principal } from "../auth/principal.ts";
import type { Database, NewUpload, UploadRow, UploadState } from "./schema.ts";

export async function insertUpload(db: Kysely<Database>, upload: NewUpload): Promise<void> {
  await db.insertInto("uploads").values(upload).execute();
}

export async function getUpload(db: Kysely<Database>, id: string): Promise<UploadRow | undefined> {
  return db.selectFrom("uploads").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function getUploadByKey(db: Kysely<Database>, key: string): Promise<UploadRow | undefined> {
  return db.selectFrom("uploads").selectAll().where("key", "=", key).executeTakeFirst();
}

/** The upload if `owner` owns it; another owner's id looks exactly like a missing one. */
export async function getOwnedUpload(
  db: Kysely<Database>,
  id: string,
  owner: Principal,
): Promise<UploadRow | undefined> {
  return db
    .selectFrom("uploads")
    .selectAll()
    .where("id", "=", id)
    .where("tenant", "=", owner.tenant)
    .where("user_id", "=", owner.user)
    .executeTakeFirst();
}

/**
 * Moves an upload to a new state only if it is still in one of `from`: the
 * single conditional UPDATE is what makes completion idempotent when the client
 * and a storage event race.
 */
export async function transitionUpload(
  db: Kysely<Database>,
  options: { id: string; from: UploadState[]; to: UploadState; patch?: Partial<UploadRow>; now?: number },
): Promise<UploadRow | undefined> {
  const now = options.now ?? Date.now();
  return db
    .updateTable("uploads")
    .set({ ...options.patch, state: options.to, updated_at: now })
    .where("id", "=", options.id)
    .where("state", "in", options.from)
    .returningAll()
    .executeTakeFirst();
}

export async function updateUpload(
  db: Kysely<Database>,
  id: string,
  patch: Partial<UploadRow>,
): Promise<void> {
  await db
    .updateTable("uploads")
    .set({ ...patch, updated_at: Date.now() })
    .where("id", "=", id)
    .execute();
}

export const FILE_STATES: UploadState[] = ["uploaded", "ready", "rejected"];

export async function listFiles(
  db: Kysely<Database>,
  options: { owner: Principal; limit: number; before?: number; states?: UploadState[] },
): Promise<UploadRow[]> {
  let query = db
    .selectFrom("uploads")
    .selectAll()
    .where("tenant", "=", options.owner.tenant)
    .where("user_id", "=", options.owner.user)
    .where("state", "in", options.states ?? FILE_STATES);
  if (options.before !== undefined) query = query.where("created_at", "<", options.before);
  return query.orderBy("created_at", "desc").orderBy("id", "desc").limit(options.limit).execute();
}

/** Bytes held or promised (pending, uploaded, ready) and pending grants of one user, for quotas. */
export async function usage(
  db: Kysely<Database>,
  owner: Principal,
): Promise<{ bytes: number; pending: number }> {
  const rows = await db
    .selectFrom("uploads")
    .select((eb) => [
      "state",
      eb.fn.sum<number | string>("size").as("bytes"),
      eb.fn.countAll<number | string>().as("n"),
    ])
    .where("tenant", "=", owner.tenant)
    .where("user_id", "=", owner.user)
    .where("state", "in", ["pending", "uploaded", "ready"])
    .groupBy("state")
    .execute();
  let bytes = 0;
  let pending = 0;
  for (const row of rows) {
    bytes += Number(row.bytes ?? 0);
    if (row.state === "pending") pending = Number(row.n);
  }
  return { bytes, pending };
}

/** Pending grants past their expiry, for the sweeper. */
export async function listExpiredPending(
  db: Kysely<Database>,
  now: number,
  limit: number,
): Promise<UploadRow[]> {
  return db
    .selectFrom("uploads")
    .selectAll()
    .where("state", "=", "pending")
    .where("expires_at", "<", now)
    .limit(limit)
    .execute();
}

/** Pending multipart uploads granted before `createdBefore`, oldest first (idle candidates). */
export async function listPendingMultipart(
  db: Kysely<Database>,
  options: { createdBefore: number; limit: number },
): Promise<UploadRow[]> {
  return db
    .selectFrom("uploads")
    .selectAll()
    .where("state", "=", "pending")
    .where("method", "=", "multipart")
    .where("created_at", "<", options.createdBefore)
    .orderBy("created_at")
    .limit(options.limit)
    .execute();
}
