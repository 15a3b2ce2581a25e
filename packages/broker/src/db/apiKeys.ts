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

export async function revokeApiKey(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db
    .updateTable("api_keys")
    .set({ revoked_at: Date.now() })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
