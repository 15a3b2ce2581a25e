// Share links. A link is used with ONE conditional UPDATE so that concurrent
// hits can never exceed max_downloads, whatever the database.
import type { Kysely } from "kysely";
import type { Scope } from "../auth/principal.ts";
import type { Database, LinkRow } from "./schema.ts";

export async function insertLink(db: Kysely<Database>, link: Omit<LinkRow, "uses">): Promise<void> {
  await db.insertInto("links").values(link).execute();
}

/**
 * Counts one use of the link if it is live (not revoked, not expired, uses left,
 * file ready) and returns the file id; undefined otherwise.
 */
export async function useLink(
  db: Kysely<Database>,
  tokenHash: string,
  now: number,
): Promise<{ uploadId: string; linkId: string } | undefined> {
  const row = await db
    .updateTable("links")
    .set((eb) => ({ uses: eb("uses", "+", 1) }))
    .where("token_hash", "=", tokenHash)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", now)
    .where((eb) => eb.or([eb("max_downloads", "is", null), eb("uses", "<", eb.ref("max_downloads"))]))
    .where("upload_id", "in", (eb) => eb.selectFrom("uploads").select("id").where("state", "=", "ready"))
    .returning(["upload_id", "id"])
    .executeTakeFirst();
  return row ? { uploadId: row.upload_id, linkId: row.id } : undefined;
}

/** Why a link that `useLink` refused is dead; "unknown" when no link has that token. */
export type DeadLink = "unknown" | "revoked" | "expired" | "used-up" | "file-gone";

export async function deadLinkReason(
  db: Kysely<Database>,
  tokenHash: string,
  now: number,
): Promise<DeadLink> {
  const row = await db
    .selectFrom("links")
    .select(["revoked_at", "expires_at", "max_downloads", "uses"])
    .where("token_hash", "=", tokenHash)
    .executeTakeFirst();
  if (!row) return "unknown";
  if (row.revoked_at !== null) return "revoked";
  if (row.expires_at <= now) return "expired";
  if (row.max_downloads !== null && row.uses >= row.max_downloads) return "used-up";
  return "file-gone";
}

export async function revokeLink(
  db: Kysely<Database>,
  options: { id: string; owner: Scope; now: number },
): Promise<boolean> {
  let query = db
    .updateTable("links")
    .set({ revoked_at: options.now })
    .where("id", "=", options.id)
    .where("tenant", "=", options.owner.tenant)
    .where("revoked_at", "is", null);
  if (options.owner.user !== undefined) query = query.where("user_id", "=", options.owner.user);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function getOwnedLink(
  db: Kysely<Database>,
  id: string,
  owner: Scope,
): Promise<LinkRow | undefined> {
  let query = db.selectFrom("links").selectAll().where("id", "=", id).where("tenant", "=", owner.tenant);
  if (owner.user !== undefined) query = query.where("user_id", "=", owner.user);
  return query.executeTakeFirst();
}

/** The links in `owner`'s scope, newest first, optionally of one file. */
export async function listLinks(
  db: Kysely<Database>,
  options: { owner: Scope; uploadId?: string; limit: number },
): Promise<LinkRow[]> {
  let query = db.selectFrom("links").selectAll().where("tenant", "=", options.owner.tenant);
  if (options.owner.user !== undefined) query = query.where("user_id", "=", options.owner.user);
  if (options.uploadId !== undefined) query = query.where("upload_id", "=", options.uploadId);
  return query.orderBy("created_at", "desc").orderBy("id", "desc").limit(options.limit).execute();
}
