// /v1/api-keys: a caller's API keys, listed (never their secrets) and revoked.
// The scope is the caller's own tenant and user; a revoked key is refused on
// its next request by every broker sharing the database (keys are looked up
// there on every request, never cached in a process).
import { createRoute, z } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import type { BrokerContext } from "../context.ts";
import { type ApiKeyInfo, listApiKeys, revokeApiKey } from "../db/apiKeys.ts";
import { audit } from "../db/audit.ts";
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
    summary: "The caller's API keys, newest first (ids and labels; the secrets are never stored)",
    responses: { 200: json(z.object({ apiKeys: z.array(ApiKeySchema) }), "API keys"), ...errorResponses },
  }),
  revoke: createRoute({
    method: "delete",
    path: "/v1/api-keys/{id}",
    tags,
    summary: "Revoke an API key: its next request is refused (401) by every broker",
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
    const { tenant, user } = c.get("principal");
    return c.json({ apiKeys: (await listApiKeys(ctx.db, { tenant, user })).map(apiKeyView) }, 200);
  });
  app.openapi(routes.revoke, async (c) => {
    const principal = c.get("principal");
    const { id } = c.req.valid("param");
    const owner = { tenant: principal.tenant, user: principal.user };
    const [key] = (await listApiKeys(ctx.db, owner)).filter((k) => k.id === id);
    if (!key) throw errors.notFound("No such API key");
    if (await revokeApiKey(ctx.db, { id, owner })) {
      await audit(ctx.db, {
        action: "apikey.revoke",
        tenant: principal.tenant,
        user: principal.user,
        subject: id,
        ip: c.get("ip"),
      });
    }
    return c.body(null, 204);
  });
  return app;
}
