// Queries on uploads (grants and the files they become). Every read that a
// client can trigger is scoped to the owner.
import { type ExpressionOrFactory, type Kysely, type SqlBool, sql } from "kysely";
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

/**
 * What is a file, as the partial index uploads_files (migration 0007) spells it:
 * SQLite and PostgreSQL use a partial index only for a query that repeats its
 * predicate, literally (a bound parameter does not count).
 */
const IS_FILE = sql<SqlBool>`state in ('uploaded', 'ready', 'rejected')`;

/** Where a page of files resumes: after the last file of the previous page, in (created_at, id) order. */
export interface FileCursor {
  createdAt: number;
  id: string;
}

/** Opaque to clients: base64url of `created_at:id`. */
export function encodeFileCursor(cursor: FileCursor): string {
  return Buffer.from(`${cursor.createdAt}:${cursor.id}`).toString("base64url");
}

export function decodeFileCursor(value: string): FileCursor | undefined {
  const match = /^(\d{1,15}):(.{1,64})$/s.exec(Buffer.from(value, "base64url").toString());
  return match ? { createdAt: Number(match[1]), id: match[2]! } : undefined;
}

/**
 * One page of the owner's files, newest first, in (created_at, id) order from
 * the uploads_files index (no sort, whatever the file count). `after` resumes
 * a walk: files sharing a millisecond are ordered by id, so none is skipped or
 * repeated. `where` narrows further (e.g. by metadata).
 */
export interface FilesPage {
  /** A user's files, or (no user: a server key) the whole tenant's. */
  owner: Scope;
  limit: number;
  after?: FileCursor;
  /** Only files created before this time (ms). */
  before?: number;
  state?: UploadState;
  metadata?: MetadataFilter[];
  where?: ExpressionOrFactory<Database, "uploads", SqlBool>;
}

export function listFiles(db: Kysely<Database>, options: FilesPage): Promise<UploadRow[]> {
  return filesQuery(db, options).execute();
}

/** listFiles' query, unexecuted (its plan is pinned by a test). */
export function filesQuery(db: Kysely<Database>, options: FilesPage) {
  let query = db.selectFrom("uploads").selectAll().where("tenant", "=", options.owner.tenant).where(IS_FILE);
  if (options.owner.user !== undefined) query = query.where("user_id", "=", options.owner.user);
  if (options.state) query = query.where("state", "=", options.state);
  if (options.before !== undefined) query = query.where("created_at", "<", options.before);
  const { after, where } = options;
  if (after) {
    query = query.where((eb) =>
      eb(eb.refTuple("created_at", "id"), "<", eb.tuple(after.createdAt, after.id)),
    );
  }
  for (const filter of options.metadata ?? []) query = query.where("id", "in", metadataMatch(db, filter));
  if (where) query = query.where(where);
  return query.orderBy("created_at", "desc").orderBy("id", "desc").limit(options.limit);
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

/**
 * Takes the user's quota lock until the transaction ends: an upsert of their
 * quota_locks row (a row lock on PostgreSQL, the write lock on SQLite).
 */
export async function lockUsage(db: Kysely<Database>, owner: Principal): Promise<void> {
  await db
    .insertInto("quota_locks")
    .values({ tenant: owner.tenant, user_id: owner.user, touched_at: Date.now() })
    .onConflict((oc) =>
      oc.columns(["tenant", "user_id"]).doUpdateSet((eb) => ({ touched_at: eb.ref("excluded.touched_at") })),
    )
    .execute();
}

/** Pending grants past their expiry (of one method, if given), for the sweeper. */
export async function listExpiredPending(
  db: Kysely<Database>,
  now: number,
  limit: number,
  method?: UploadRow["method"],
): Promise<UploadRow[]> {
  let query = db
    .selectFrom("uploads")
    .selectAll()
    .where("state", "=", "pending")
    .where("expires_at", "<", now);
  if (method) query = query.where("method", "=", method);
  return query.limit(limit).execute();
}

/**
 * Up to `limit` pending grants past their expiry become `expired`, in one
 * statement (from the state/expiry index, oldest first); returns them. A grant
 * completed meanwhile is no longer pending and is left alone.
 */
export async function expirePending(db: Kysely<Database>, now: number, limit: number): Promise<UploadRow[]> {
  const due = db
    .selectFrom("uploads")
    .select("id")
    .where("state", "=", "pending")
    .where("expires_at", "<", now)
    .orderBy("expires_at")
    .limit(limit);
  return db
    .updateTable("uploads")
    .set({ state: "expired", updated_at: now })
    .where("id", "in", due)
    .where("state", "=", "pending")
    .returningAll()
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
