// /v1/files: the owner's files, downloads (presigned GET), share links, deletion.
import { randomUUID } from "node:crypto";
import { createRoute, z } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import type { Context } from "hono";
import { type Principal, requireServer, scopeOf } from "../auth/principal.ts";
import { formatDuration } from "../config/units.ts";
import type { BrokerContext } from "../context.ts";
import { actorDetail, audit } from "../db/audit.ts";
import { listChecks } from "../db/checks.ts";
import { getDerivative, listDerivatives } from "../db/derivatives.ts";
import { insertLink, listLinks } from "../db/links.ts";
import type { UploadRow } from "../db/schema.ts";
import { decodeFileCursor, encodeFileCursor, getOwnedUpload, listFiles } from "../db/uploads.ts";
import { downloadUrl } from "../downloads/presign.ts";
import { type AppEnv, createRouter } from "../http/env.ts";
import { newLinkToken } from "../links/tokens.ts";
import { metadataFilters } from "../uploads/metadata.ts";
import { transitionWithEvent } from "../uploads/outbox.ts";
import { ctxProfile } from "../uploads/profile.ts";
import { uploadView } from "../uploads/view.ts";
import { removeDeletedFile } from "../verification/delete-file.ts";
import { errorResponses, IdParams, json, UploadSchema } from "./schemas.ts";

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: "Where to resume: `next` of the previous page" }),
  before: z.iso.datetime().optional().openapi({ description: "Only files created before this instant" }),
  state: z.enum(["uploaded", "ready", "rejected"]).optional(),
  user: z
    .string()
    .max(256)
    .optional()
    .openapi({ description: "Server keys: only this user's files (default: the whole tenant)" }),
});
const DownloadQuery = z.object({
  json: z.string().optional().openapi({ description: "Answer JSON {url, expiresAt} instead of 302" }),
});
const DerivativeParams = IdParams.extend({
  name: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "name", in: "path" }, example: "thumb-256" }),
});
const DownloadSchema = z.object({ url: z.string(), expiresAt: z.string() }).openapi("Download");
const LinkBody = z
  .object({
    expiresIn: z.number().int().min(1).optional().openapi({ description: "Seconds; default 1 day" }),
    maxDownloads: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict();
const LinkSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    expiresAt: z.string(),
    maxDownloads: z.number().int().nullable(),
  })
  .openapi("Link");

const LinkInfoSchema = z
  .object({
    id: z.string(),
    fileId: z.string(),
    expiresAt: z.string(),
    maxDownloads: z.number().int().nullable(),
    uses: z.number().int(),
    revokedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("LinkInfo");

const tags = ["files"];
const routes = {
  list: createRoute({
    method: "get",
    path: "/v1/files",
    operationId: "listFiles",
    tags,
    summary: "The caller's files, newest first (a server key: the tenant's)",
    description:
      "Filter on metadata with `metadata.<key>=<value>` (and `serverMetadata.<key>=<value>`), e.g. `?metadata.ticket=9`: numbers and booleans match their JSON text; several filters all apply.",
    request: { query: ListQuery },
    responses: {
      200: json(
        z.object({
          files: z.array(UploadSchema),
          next: z.string().nullable().openapi({ description: "Cursor of the next page; null on the last" }),
        }),
        "Files",
      ),
      ...errorResponses,
    },
  }),
  get: createRoute({
    method: "get",
    path: "/v1/files/{id}",
    operationId: "getFile",
    tags,
    summary: "One file",
    request: { params: IdParams },
    responses: { 200: json(UploadSchema, "The file"), ...errorResponses },
  }),
  remove: createRoute({
    method: "delete",
    path: "/v1/files/{id}",
    operationId: "deleteFile",
    tags,
    summary: "Delete a file (object removed, links die)",
    request: { params: IdParams },
    responses: {
      204: { description: "Deleted" },
      202: json(
        z.object({ id: z.string(), state: z.literal("deleting") }),
        "Deleted; storage refused to remove the object now, a durable job retries until it does",
      ),
      ...errorResponses,
    },
  }),
  download: createRoute({
    method: "get",
    path: "/v1/files/{id}/download",
    operationId: "downloadFile",
    tags,
    summary: "Redirect to a presigned GET (minutes), or JSON with ?json",
    request: { params: IdParams, query: DownloadQuery },
    responses: {
      200: json(DownloadSchema, "With ?json"),
      302: { description: "Redirect to storage" },
      ...errorResponses,
    },
  }),
  derivative: createRoute({
    method: "get",
    path: "/v1/files/{id}/derivatives/{name}",
    operationId: "downloadDerivative",
    tags,
    summary: "Redirect to a presigned GET of an image derivative (e.g. thumb-256), or JSON with ?json",
    request: { params: DerivativeParams, query: DownloadQuery },
    responses: {
      200: json(DownloadSchema, "With ?json"),
      302: { description: "Redirect to storage" },
      ...errorResponses,
    },
  }),
  links: createRoute({
    method: "get",
    path: "/v1/files/{id}/links",
    tags,
    summary: "The file's share links, newest first (their tokens are never stored: revoke by id)",
    request: { params: IdParams },
    responses: { 200: json(z.object({ links: z.array(LinkInfoSchema) }), "Links"), ...errorResponses },
  }),
  link: createRoute({
    method: "post",
    path: "/v1/files/{id}/links",
    operationId: "createLink",
    tags,
    summary: "Create a share link (expiry, use limit; revocable)",
    request: {
      params: IdParams,
      body: { content: { "application/json": { schema: LinkBody } }, required: false },
    },
    responses: { 201: json(LinkSchema, "The link; its token is shown only here"), ...errorResponses },
  }),
};

const DEFAULT_LINK_EXPIRY = 86_400;

export function fileRoutes(ctx: BrokerContext) {
  const app = createRouter();
  const file = async (id: string, principal: Principal, readyOnly = false) => {
    const row = await getOwnedUpload(ctx.db, id, scopeOf(principal));
    if (!row || row.state === "pending" || row.state === "aborted" || row.state === "expired")
      throw errors.notFound("No such file");
    if (readyOnly && row.state !== "ready")
      throw errors.conflict(`File is ${row.state}, not ready`, "FileNotReady");
    return row;
  };

  /** File views, with their pipeline checks and the derivatives of ready files (one query each for a whole page). */
  const views = async (rows: UploadRow[]) => {
    const [derivatives, checks] = await Promise.all([
      listDerivatives(
        ctx.db,
        rows.filter((row) => row.state === "ready").map((row) => row.id),
      ),
      listChecks(
        ctx.db,
        rows.map((row) => row.id),
      ),
    ]);
    return rows.map((row) => {
      const own = derivatives.filter((d) => d.upload_id === row.id);
      const view = {
        ...uploadView(row),
        checks: checks
          .filter((c) => c.upload_id === row.id)
          .map(({ step, status, ms, detail, attempts }) => ({ step, status, ms, detail, attempts })),
      };
      if (own.length === 0) return view;
      return {
        ...view,
        derivatives: own.map(({ name, type, size, width, height }) => ({ name, type, size, width, height })),
      };
    });
  };

  /** A presigned GET answered as 302 (or JSON with ?json), audited. */
  const download = async (
    c: Context<AppEnv>,
    options: {
      row: UploadRow;
      object: Pick<UploadRow, "key" | "name" | "type">;
      detail?: Record<string, unknown>;
    },
  ) => {
    const principal = c.get("principal");
    const expiresIn = ctxProfile(ctx, options.row).downloadExpiry;
    const url = downloadUrl(ctx.target, options.object, expiresIn);
    await audit(ctx.db, {
      action: "file.download",
      tenant: principal.tenant,
      user: principal.user,
      subject: options.row.id,
      ip: c.get("ip"),
      detail: options.detail,
    });
    ctx.metrics.inc("sluice_downloads_total", { via: "owner" }, "Download grants");
    if (c.req.query("json") !== undefined) {
      return c.json({ url, expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString() }, 200);
    }
    return c.redirect(url, 302);
  };

  app.openapi(routes.list, async (c) => {
    const query = c.req.valid("query");
    const after = query.cursor === undefined ? undefined : decodeFileCursor(query.cursor);
    if (query.cursor !== undefined && !after)
      throw errors.badRequest("cursor is not one this API gave", "InvalidCursor");
    const principal = c.get("principal");
    if (query.user !== undefined) requireServer(principal);
    const scope =
      query.user !== undefined ? { tenant: principal.tenant, user: query.user } : scopeOf(principal);
    const rows = await listFiles(ctx.db, {
      owner: scope,
      metadata: metadataFilters(c.req.query()),
      limit: query.limit,
      after,
      before: query.before ? Date.parse(query.before) : undefined,
      state: query.state,
    });
    const last = rows.length === query.limit ? rows[rows.length - 1] : undefined;
    return c.json(
      {
        files: await views(rows),
        next: last ? encodeFileCursor({ createdAt: last.created_at, id: last.id }) : null,
      },
      200,
    );
  });

  app.openapi(routes.get, async (c) => {
    const [view] = await views([await file(c.req.valid("param").id, c.get("principal"))]);
    return c.json(view!, 200);
  });

  app.openapi(routes.remove, async (c) => {
    const principal = c.get("principal");
    const row = await file(c.req.valid("param").id, principal);
    const removed = await transitionWithEvent(ctx, {
      event: "file.deleted",
      id: row.id,
      from: ["uploaded", "ready", "rejected"],
      to: "aborted",
      patch: { reason: "deleted" },
    });
    const storage = removed ? await removeDeletedFile(ctx, row) : "deleted";
    if (removed) {
      await audit(ctx.db, {
        action: "file.delete",
        tenant: row.tenant,
        user: row.user_id,
        subject: row.id,
        ip: c.get("ip"),
        detail: { storage, ...actorDetail(principal).detail },
      });
    }
    // 202: the file is deleted for everyone; storage's copy goes by a retried job.
    if (storage === "deleting") return c.json({ id: row.id, state: "deleting" as const }, 202);
    return c.body(null, 204);
  });

  app.openapi(routes.download, async (c) => {
    const row = await file(c.req.valid("param").id, c.get("principal"), true);
    return download(c, { row, object: row });
  });

  app.openapi(routes.derivative, async (c) => {
    const { id, name } = c.req.valid("param");
    const row = await file(id, c.get("principal"), true);
    const derivative = await getDerivative(ctx.db, { uploadId: row.id, name });
    if (!derivative) throw errors.notFound(`No derivative ${name} of this file`, "NoSuchDerivative");
    const ext = derivative.key.slice(derivative.key.lastIndexOf(".") + 1);
    const stem = row.name.includes(".") ? row.name.slice(0, row.name.lastIndexOf(".")) : row.name;
    return download(c, {
      row,
      object: { key: derivative.key, name: `${stem}-${name}.${ext}`, type: derivative.type },
      detail: { derivative: name },
    });
  });

  app.openapi(routes.links, async (c) => {
    const principal = c.get("principal");
    const row = await file(c.req.valid("param").id, principal);
    const rows = await listLinks(ctx.db, { owner: principal, uploadId: row.id, limit: 1000 });
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const links = rows.map((link) => ({
      id: link.id,
      fileId: link.upload_id,
      expiresAt: new Date(link.expires_at).toISOString(),
      maxDownloads: link.max_downloads,
      uses: link.uses,
      revokedAt: iso(link.revoked_at),
      createdAt: new Date(link.created_at).toISOString(),
    }));
    return c.json({ links }, 200);
  });

  app.openapi(routes.link, async (c) => {
    const principal = c.get("principal");
    const row = await file(c.req.valid("param").id, principal, true);
    const body = c.req.header("content-type")?.includes("json") ? c.req.valid("json") : {};
    const expiresIn = body.expiresIn ?? DEFAULT_LINK_EXPIRY;
    if (expiresIn > ctx.config.links.maxExpiry) {
      throw errors.badRequest(
        `expiresIn is limited to ${formatDuration(ctx.config.links.maxExpiry)} (${ctx.config.links.maxExpiry} seconds)`,
        "ExpiryTooLong",
      );
    }
    const { token, hash } = newLinkToken();
    const now = Date.now();
    const link = {
      id: randomUUID(),
      token_hash: hash,
      upload_id: row.id,
      tenant: row.tenant,
      user_id: row.user_id,
      expires_at: now + expiresIn * 1000,
      max_downloads: body.maxDownloads ?? null,
      revoked_at: null,
      created_at: now,
    };
    await insertLink(ctx.db, link);
    await audit(ctx.db, {
      action: "link.create",
      tenant: row.tenant,
      user: row.user_id,
      subject: row.id,
      ip: c.get("ip"),
      detail: {
        link: link.id,
        expiresIn,
        maxDownloads: link.max_downloads,
        ...actorDetail(principal).detail,
      },
    });
    const base = ctx.config.server.publicUrl ?? new URL(c.req.url).origin;
    return c.json(
      {
        id: link.id,
        url: `${base.replace(/\/$/, "")}/l/${token}`,
        expiresAt: new Date(link.expires_at).toISOString(),
        maxDownloads: link.max_downloads,
      },
      201,
    );
  });

  return app;
}
