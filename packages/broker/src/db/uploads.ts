// Queries on uploads (grants and the files they become). Every read that a
// client can trigger is scoped to the owner.
import type { Kysely } from "kysely";
import type { Principal, Scope } from "../auth/principal.ts";
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

/** The upload if it is in `owner`'s scope; another owner's id looks exactly like a missing one. */
export async function getOwnedUpload(
  db: Kysely<Database>,
  id: string,
  owner: Scope,
): Promise<UploadRow | undefined> {
  let query = db.selectFrom("uploads").selectAll().where("id", "=", id).where("tenant", "=", owner.tenant);
  if (owner.user !== undefined) query = query.where("user_id", "=", owner.user);
  return query.executeTakeFirst();
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
  options: {
    owner: Scope;
    limit: number;
    before?: number;
    states?: UploadState[];
    metadata?: MetadataFilter[];
  },
): Promise<UploadRow[]> {
  let query = db
    .selectFrom("uploads")
    .selectAll()
    .where("tenant", "=", options.owner.tenant)
    .where("state", "in", options.states ?? FILE_STATES);
  if (options.owner.user !== undefined) query = query.where("user_id", "=", options.owner.user);
  if (options.before !== undefined) query = query.where("created_at", "<", options.before);
  for (const filter of options.metadata ?? []) query = query.where("id", "in", metadataMatch(db, filter));
  return query.orderBy("created_at", "desc").orderBy("id", "desc").limit(options.limit).execute();
}

/** A `?metadata.key=value` (or `serverMetadata.key=value`) filter of GET /v1/files. */
export interface MetadataFilter {
  scope: "client" | "server";
  key: string;
  /** Strings as they are, numbers and booleans as their JSON text. */
  value: string;
}

/** Ids of uploads whose metadata (or serverMetadata) has key = value. */
function metadataMatch(db: Kysely<Database>, filter: MetadataFilter) {
  return db
    .selectFrom("upload_metadata")
    .select("upload_id")
    .where("scope", "=", filter.scope)
    .where("key", "=", filter.key)
    .where("value", "=", filter.value);
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
