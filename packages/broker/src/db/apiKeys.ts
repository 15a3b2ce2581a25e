import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

export async function insertApiKey(
  db: Kysely<Database>,
  row: {
    id: string;
    key_hash: string;
    tenant: string;
    user_id: string;
    name: string;
    scope: "user" | "server";
    created_at: number;
  },
): Promise<void> {
  await db
    .insertInto("api_keys")
    .values({ ...row, revoked_at: null })
    .execute();
}

export async function findApiKey(db: Kysely<Database>, keyHash: string) {
  return db
    .selectFrom("api_keys")
    .select(["id", "tenant", "user_id", "scope"])
    .where("key_hash", "=", keyHash)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
}

export interface ApiKeyInfo {
  id: string;
  tenant: string;
  user_id: string;
  name: string;
  created_at: number;
  revoked_at: number | null;
}

function apiKeysOf(db: Kysely<Database>, owner: { tenant?: string; user?: string }) {
  let query = db
    .selectFrom("api_keys")
    .select(["id", "tenant", "user_id", "name", "created_at", "revoked_at"]);
  if (owner.tenant !== undefined) query = query.where("tenant", "=", owner.tenant);
  if (owner.user !== undefined) query = query.where("user_id", "=", owner.user);
  return query;
}

/** Keys of a tenant (and user), newest first; never their hashes. */
export async function listApiKeys(
  db: Kysely<Database>,
  owner: { tenant?: string; user?: string },
): Promise<ApiKeyInfo[]> {
  return apiKeysOf(db, owner).orderBy("created_at", "desc").orderBy("id", "desc").execute();
}

/** One key, live or revoked, if it is within `owner`'s tenant (and user). */
export async function getApiKey(
  db: Kysely<Database>,
  id: string,
  owner: { tenant: string; user?: string },
): Promise<ApiKeyInfo | undefined> {
  return apiKeysOf(db, owner).where("id", "=", id).executeTakeFirst();
}

/**
 * Revokes a live key (within `owner`'s tenant and user when given); false when
 * there is none. Keys are looked up in the database on every request, so the
 * next request with it is refused by every broker sharing the database.
 */
export async function revokeApiKey(
  db: Kysely<Database>,
  options: { id: string; owner?: { tenant: string; user?: string }; now?: number },
): Promise<boolean> {
  let query = db
    .updateTable("api_keys")
    .set({ revoked_at: options.now ?? Date.now() })
    .where("id", "=", options.id)
    .where("revoked_at", "is", null);
  if (options.owner) query = query.where("tenant", "=", options.owner.tenant);
  if (options.owner?.user !== undefined) query = query.where("user_id", "=", options.owner.user);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
