// /v1/api-keys: API keys listed (never their secrets) and revoked. A user
// (user key or JWT, or a server key acting for a user) reaches its own keys; a
// server key acting tenant-wide is its tenant's admin and reaches every key of
// the tenant. A key outside the caller's reach answers 404, as if it did not
// exist. A revoked key is refused on its next request by every broker sharing
// the database (keys are looked up there on every request, never cached in a
// process).
import { createRoute, z } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import { scopeOf } from "../auth/principal.ts";
import type { BrokerContext } from "../context.ts";
import { type ApiKeyInfo, getApiKey, listApiKeys, revokeApiKey } from "../db/apiKeys.ts";
import { actorDetail, audit } from "../db/audit.ts";
import { createRouter } from "../http/env.ts";
import { errorResponses, IdParams, json } from "./schemas.ts";

const ApiKeySchema = z
  .object({
    id: z.string(),
    tenant: z.string(),
    user: z.string(),
    name: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .openapi("ApiKey");

const tags = ["api-keys"];
const routes = {
  list: createRoute({
    method: "get",
    path: "/v1/api-keys",
    tags,
    summary:
      "API keys, newest first (ids and labels; the secrets are never stored): the caller's own, or every key of its tenant for a server key acting tenant-wide",
    responses: { 200: json(z.object({ apiKeys: z.array(ApiKeySchema) }), "API keys"), ...errorResponses },
  }),
  revoke: createRoute({
    method: "delete",
    path: "/v1/api-keys/{id}",
    tags,
    summary:
      "Revoke an API key (the caller's own, or any of its tenant for a server key acting tenant-wide): its next request is refused (401) by every broker",
    request: { params: IdParams },
    responses: { 204: { description: "Revoked" }, ...errorResponses },
  }),
};

export function apiKeyView(row: ApiKeyInfo): z.infer<typeof ApiKeySchema> {
  return {
    id: row.id,
    tenant: row.tenant,
    user: row.user_id,
    name: row.name,
    createdAt: new Date(row.created_at).toISOString(),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at).toISOString(),
  };
}

export function apiKeyRoutes(ctx: BrokerContext) {
  const app = createRouter();
  app.openapi(routes.list, async (c) => {
    const keys = await listApiKeys(ctx.db, scopeOf(c.get("principal")));
    return c.json({ apiKeys: keys.map(apiKeyView) }, 200);
  });
  app.openapi(routes.revoke, async (c) => {
    const principal = c.get("principal");
    const { id } = c.req.valid("param");
    const scope = scopeOf(principal);
    const key = await getApiKey(ctx.db, id, scope);
    if (!key) throw errors.notFound("No such API key");
    // Conditional on the key being live: of concurrent revokes, one is audited.
    if (await revokeApiKey(ctx.db, { id, owner: scope })) {
      await audit(ctx.db, {
        action: "apikey.revoke",
        tenant: key.tenant,
        user: key.user_id,
        subject: id,
        ip: c.get("ip"),
        ...actorDetail(principal),
      });
    }
    return c.body(null, 204);
  });
  return app;
}
