// API keys: random 256-bit secrets shown once, stored as SHA-256 hashes,
// scoped to one tenant and user (scope `user`) or to a whole tenant (scope `server`).
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { errors } from "@sluice/core";
import type { Kysely } from "kysely";
import { findApiKey, insertApiKey } from "../db/apiKeys.ts";
import type { ApiKeyScope, Database } from "../db/schema.ts";
import { type Principal, USER_ID } from "./principal.ts";

export const API_KEY_PREFIX = "sk_";

export function hashSecret(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

export async function issueApiKey(
  db: Kysely<Database>,
  options: { tenant: string; user: string; name?: string; scope?: ApiKeyScope },
): Promise<{ id: string; key: string }> {
  const id = randomUUID();
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
  await insertApiKey(db, {
    id,
    key_hash: hashSecret(key),
    tenant: options.tenant,
    user_id: options.user,
    name: options.name ?? "",
    scope: options.scope ?? "user",
    created_at: Date.now(),
  });
  return { id, key };
}

/**
 * The key's principal. A server key acts on behalf of `onBehalfOf` (the
 * X-Sluice-User header) when given, tenant-wide otherwise.
 */
export async function verifyApiKey(
  db: Kysely<Database>,
  key: string,
  onBehalfOf?: string,
): Promise<Principal | undefined> {
  if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return undefined;
  const row = await findApiKey(db, hashSecret(key));
  if (!row) return undefined;
  if (row.scope !== "server") {
    if (onBehalfOf !== undefined)
      throw errors.forbidden("Only server keys act on behalf of a user", "NotServerKey");
    return { tenant: row.tenant, user: row.user_id, via: "api-key" };
  }
  if (onBehalfOf === undefined)
    return {
      tenant: row.tenant,
      user: row.user_id,
      via: "api-key",
      server: { keyId: row.id, onBehalf: false },
    };
  if (!USER_ID.test(onBehalfOf))
    throw errors.badRequest("X-Sluice-User is not a valid user id", "InvalidUser");
  return { tenant: row.tenant, user: onBehalfOf, via: "api-key", server: { keyId: row.id, onBehalf: true } };
}
