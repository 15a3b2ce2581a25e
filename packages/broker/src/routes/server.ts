// The server role's own routes: the tenant's audit log and short-lived user
// tokens (an application without a JWT issuer hands its browser one of these).
import { createRoute, z } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import { requireServer, USER_ID } from "../auth/principal.ts";
import type { BrokerContext } from "../context.ts";
import { listAudit } from "../db/audit.ts";
import { createRouter } from "../http/env.ts";
import { decodeCursor, nextCursor } from "./cursor.ts";
import { ErrorSchema, errorResponses, json } from "./schemas.ts";

const AuditQuery = z.object({
  subject: z.string().max(1024).optional().openapi({ description: "A file id (or a stray key)" }),
  action: z.string().max(64).optional().openapi({ example: "file.download" }),
  user: z.string().max(256).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional().openapi({ description: "`next` of the previous page" }),
});
const AuditEntrySchema = z
  .object({
    id: z.string(),
    at: z.string(),
    action: z.string(),
    user: z.string().nullable(),
    subject: z.string().nullable(),
    ip: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi("AuditEntry");

/** Longest life of a minted user token. */
const MAX_TOKEN_SECONDS = 24 * 3600;
const TokenBody = z
  .object({
    user: z.string().min(1).max(256).regex(USER_ID, "no control characters"),
    expiresIn: z
      .number()
      .int()
      .min(1)
      .max(MAX_TOKEN_SECONDS)
      .default(600)
      .openapi({ description: "Seconds (default 600, at most a day)" }),
    profiles: z
      .array(z.string().max(64))
      .min(1)
      .max(64)
      .optional()
      .openapi({ description: "Upload profiles the token may use (default: all)" }),
  })
  .strict()
  .openapi("CreateToken");
const TokenSchema = z.object({ token: z.string(), expiresAt: z.string() }).openapi("UserToken");

const tags = ["server"];
const routes = {
  audit: createRoute({
    method: "get",
    path: "/v1/audit",
    tags,
    summary: "The tenant's audit log, oldest first, paginated (server keys)",
    request: { query: AuditQuery },
    responses: {
      200: json(z.object({ entries: z.array(AuditEntrySchema), next: z.string().nullable() }), "Entries"),
      ...errorResponses,
      403: json(ErrorSchema, "Not a server key"),
    },
  }),
  token: createRoute({
    method: "post",
    path: "/v1/tokens",
    tags,
    summary:
      "Mint a short-lived token for a user of the tenant, optionally limited to profiles (server keys)",
    request: { body: { content: { "application/json": { schema: TokenBody } }, required: true } },
    responses: {
      201: json(TokenSchema, "A bearer token for the user"),
      ...errorResponses,
      403: json(ErrorSchema, "Not a server key"),
      409: json(ErrorSchema, "No HS256 secret (tokens come from the identity provider)"),
    },
  }),
};

export function serverRoutes(ctx: BrokerContext) {
  const app = createRouter();

  app.openapi(routes.audit, async (c) => {
    const principal = c.get("principal");
    requireServer(principal);
    const query = c.req.valid("query");
    const rows = await listAudit(ctx.db, {
      tenant: principal.tenant,
      subject: query.subject,
      action: query.action,
      user: query.user,
      limit: query.limit,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    return c.json(
      {
        entries: rows.map((row) => ({
          id: row.id,
          at: new Date(row.at).toISOString(),
          action: row.action,
          user: row.user_id,
          subject: row.subject,
          ip: row.ip,
          detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null,
        })),
        next: nextCursor(rows, query.limit, (row) => row),
      },
      200,
    );
  });

  app.openapi(routes.token, async (c) => {
    const principal = c.get("principal");
    requireServer(principal);
    const body = c.req.valid("json");
    const unknown = (body.profiles ?? []).filter((p) => !(p in ctx.config.profiles));
    if (unknown.length > 0)
      throw errors.badRequest(`Unknown profile(s): ${unknown.join(", ")}`, "UnknownProfile");
    if (!ctx.signUserToken)
      throw errors.conflict(
        "Tokens come from the identity provider when auth.jwt.jwksUrl is set",
        "NoSecret",
      );
    const token = await ctx.signUserToken({
      tenant: principal.tenant,
      user: body.user,
      expiresIn: `${body.expiresIn}s`,
      profiles: body.profiles,
    });
    return c.json({ token, expiresAt: new Date(Date.now() + body.expiresIn * 1000).toISOString() }, 201);
  });

  return app;
}
