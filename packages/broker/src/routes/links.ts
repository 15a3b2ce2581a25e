// Share links: revocation (owner) and the public redirect /l/:token, which
// counts a use atomically and redirects to a presigned GET of seconds.
import { createRoute, z } from "@hono/zod-openapi";
import { errors, SluiceError } from "@sluice/core";
import type { BrokerContext } from "../context.ts";
import { audit } from "../db/audit.ts";
import { getOwnedLink, revokeLink, useLink } from "../db/links.ts";
import { getUpload } from "../db/uploads.ts";
import { downloadUrl } from "../downloads/presign.ts";
import { createRouter } from "../http/env.ts";
import { linkTokenHash } from "../links/tokens.ts";
import { errorResponses, IdParams } from "./schemas.ts";

const routes = {
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
    },
  }),
};

/** DELETE /v1/links/:id, behind authentication. */
export function linkRoutes(ctx: BrokerContext) {
  const app = createRouter();
  app.openapi(routes.revoke, async (c) => {
    const principal = c.get("principal");
    const { id } = c.req.valid("param");
    const link = await getOwnedLink(ctx.db, id, principal);
    if (!link) throw errors.notFound("No such link");
    if (await revokeLink(ctx.db, { id, owner: principal, now: Date.now() })) {
      await audit(ctx.db, {
        action: "link.revoke",
        tenant: principal.tenant,
        user: principal.user,
        subject: link.upload_id,
        ip: c.get("ip"),
        detail: { link: id },
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
    const used = hash ? await useLink(ctx.db, hash, Date.now()) : undefined;
    if (!used) throw errors.notFound("Link expired, revoked, used up or unknown", "LinkUnavailable");
    const file = await getUpload(ctx.db, used.uploadId);
    if (!file) throw errors.notFound("Link expired, revoked, used up or unknown", "LinkUnavailable");
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
