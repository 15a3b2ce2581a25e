// API keys: random 256-bit secrets shown once, stored as SHA-256 hashes,
// scoped to one tenant and user.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { findApiKey, insertApiKey } from "../db/apiKeys.ts";
import type { Database } from "../db/schema.ts";
import type { Principal } from "./principal.ts";

export const API_KEY_PREFIX = "sk_";

export function hashSecret(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

export async function issueApiKey(
  db: Kysely<Database>,
  options: { tenant: string; user: string; name?: string },
): Promise<{ id: string; key: string }> {
  const id = randomUUID();
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
  await insertApiKey(db, {
    id,
    key_hash: hashSecret(key),
    tenant: options.tenant,
    user_id: options.user,
    name: options.name ?? "",
    created_at: Date.now(),
  });
  return { id, key };
}

export async function verifyApiKey(db: Kysely<Database>, key: string): Promise<Principal | undefined> {
  if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return undefined;
  const row = await findApiKey(db, hashSecret(key));
  return row ? { tenant: row.tenant, user: row.user_id, via: "api-key" } : undefined;
}
