// Share links: revocation (owner) and the public redirect /l/:token, which
// counts a use atomically and redirects to a presigned GET of seconds.
import { createRoute, z } from "@hono/zod-openapi";
import { errors, SluiceError } from "@sluice/core";
import { scopeOf } from "../auth/principal.ts";
import type { BrokerContext } from "../context.ts";
import { actorDetail, audit } from "../db/audit.ts";
import { type DeadLink, deadLinkReason, getOwnedLink, listLinks, revokeLink, useLink } from "../db/links.ts";
import { getUpload } from "../db/uploads.ts";
import { downloadUrl } from "../downloads/presign.ts";
import { createRouter } from "../http/env.ts";
import { linkTokenHash } from "../links/tokens.ts";
import { enqueueEvent } from "../uploads/outbox.ts";
import { ErrorSchema, errorResponses, IdParams, json } from "./schemas.ts";

const LinkInfoSchema = z
  .object({
    id: z.string(),
    fileId: z.string(),
    user: z.string(),
    expiresAt: z.string(),
    maxDownloads: z.number().int().nullable(),
    uses: z.number().int(),
    revokedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("LinkInfo", { description: "A share link (its token is shown only when created)" });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const routes = {
  list: createRoute({
    method: "get",
    path: "/v1/links",
    tags: ["links"],
    summary: "The caller's share links, newest first (a server key: the tenant's)",
    request: {
      query: z.object({
        file: z.string().max(64).optional().openapi({ description: "Only the links of this file" }),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
    },
    responses: { 200: json(z.object({ links: z.array(LinkInfoSchema) }), "Links"), ...errorResponses },
  }),
  revoke: createRoute({
    method: "delete",
    path: "/v1/links/{id}",
    operationId: "revokeLink",
    tags: ["links"],
    summary: "Revoke a share link at once",
    request: { params: IdParams },
    responses: { 204: { description: "Revoked" }, ...errorResponses },
  }),
  follow: createRoute({
    method: "get",
    path: "/l/{token}",
    operationId: "followLink",
    tags: ["links"],
    summary: "Follow a share link (no authentication)",
    security: [],
    request: {
      params: z.object({
        token: z
          .string()
          .max(128)
          .openapi({ param: { name: "token", in: "path" } }),
      }),
    },
    responses: {
      302: { description: "Redirect to a presigned GET living seconds" },
      404: errorResponses[404],
      410: {
        description: "The link was revoked, has expired, is used up, or its file was deleted",
        content: { "application/json": { schema: ErrorSchema } },
      },
    },
  }),
};

const DEAD_LINK: Record<Exclude<DeadLink, "unknown">, string> = {
  revoked: "This link was revoked by its owner.",
  expired: "This link has expired.",
  "used-up": "This link has been used as many times as its owner allowed.",
  "file-gone": "The file behind this link is no longer available.",
};

/** 404 for a token no link ever had; 410 Gone for a link that existed and died. */
function deadLinkError(reason: DeadLink): SluiceError {
  if (reason === "unknown") return errors.notFound("No such link", "LinkNotFound");
  return new SluiceError({ code: "LinkGone", status: 410, message: DEAD_LINK[reason] });
}

function prefersHtml(accept: string | undefined): boolean {
  return !!accept && /\btext\/html\b/.test(accept);
}

/** A small page for people; the messages are ours, never user input. */
function deadLinkPage(message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link unavailable</title>
<style>body{font:1rem/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1b1f24;background:#fff}
@media (prefers-color-scheme:dark){body{color:#e6edf3;background:#0d1117}}</style></head>
<body><main><h1>Link unavailable</h1><p>${message}</p><p>Ask the person who shared it for a new link.</p></main></body></html>
`;
}

/** DELETE /v1/links/:id, behind authentication. */
export function linkRoutes(ctx: BrokerContext) {
  const app = createRouter();
  app.openapi(routes.list, async (c) => {
    const query = c.req.valid("query");
    const rows = await listLinks(ctx.db, {
      owner: scopeOf(c.get("principal")),
      uploadId: query.file,
      limit: query.limit,
    });
    const links = rows.map((row) => ({
      id: row.id,
      fileId: row.upload_id,
      user: row.user_id,
      expiresAt: iso(row.expires_at)!,
      maxDownloads: row.max_downloads,
      uses: row.uses,
      revokedAt: iso(row.revoked_at),
      createdAt: iso(row.created_at)!,
    }));
    return c.json({ links }, 200);
  });
  app.openapi(routes.revoke, async (c) => {
    const principal = c.get("principal");
    const { id } = c.req.valid("param");
    const scope = scopeOf(principal);
    const link = await getOwnedLink(ctx.db, id, scope);
    if (!link) throw errors.notFound("No such link");
    if (await revokeLink(ctx.db, { id, owner: scope, now: Date.now() })) {
      await audit(ctx.db, {
        action: "link.revoke",
        tenant: link.tenant,
        user: link.user_id,
        subject: link.upload_id,
        ip: c.get("ip"),
        detail: { link: id, ...actorDetail(principal).detail },
      });
    }
    return c.body(null, 204);
  });
  return app;
}

/** GET /l/:token, public. */
export function publicLinkRoutes(ctx: BrokerContext) {
  const app = createRouter();
  app.openapi(routes.follow, async (c) => {
    // Hono answers HEAD with the GET route: a HEAD (link checkers) must not spend a use.
    if (c.req.method === "HEAD") {
      throw new SluiceError({
        code: "MethodNotAllowed",
        status: 405,
        message: "Use GET",
        headers: { allow: "GET" },
      });
    }
    const hash = linkTokenHash(c.req.valid("param").token);
    const now = Date.now();
    const file = hash
      ? await ctx.db.transaction().execute(async (trx) => {
          const used = await useLink(trx, hash, now);
          const row = used && (await getUpload(trx, used.uploadId));
          if (row && used)
            await enqueueEvent(trx, ctx, { type: "link.used", row, link: { id: used.linkId } });
          return row;
        })
      : undefined;
    if (file) ctx.kickWebhooks();
    if (!file) {
      const error = deadLinkError(hash ? await deadLinkReason(ctx.db, hash, now) : "unknown");
      // A person who clicked the link gets a page, not JSON.
      if (prefersHtml(c.req.header("accept"))) {
        c.header("cache-control", "no-store");
        c.header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'");
        return c.html(deadLinkPage(error.message), error.status as 404 | 410);
      }
      throw error;
    }
    await audit(ctx.db, {
      action: "link.use",
      tenant: file.tenant,
      user: file.user_id,
      subject: file.id,
      ip: c.get("ip"),
    });
    ctx.metrics.inc("sluice_downloads_total", { via: "link" }, "Download grants");
    c.header("cache-control", "no-store");
    c.header("referrer-policy", "no-referrer");
    return c.redirect(downloadUrl(ctx.target, file, ctx.config.links.redirectExpiry), 302);
  });
  return app;
}
