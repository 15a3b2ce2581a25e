// /v1/files: the owner's files, downloads (presigned GET), share links, deletion.
import { randomUUID } from "node:crypto";
import { createRoute, z } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import type { Context } from "hono";
import type { BrokerContext } from "../context.ts";
import { audit } from "../db/audit.ts";
import { listChecks } from "../db/checks.ts";
import { getDerivative, listDerivatives } from "../db/derivatives.ts";
import { insertLink } from "../db/links.ts";
import type { UploadRow } from "../db/schema.ts";
import { getOwnedUpload, listFiles, transitionUpload } from "../db/uploads.ts";
import { downloadUrl } from "../downloads/presign.ts";
import { type AppEnv, createRouter } from "../http/env.ts";
import { newLinkToken } from "../links/tokens.ts";
import { removeStorage } from "../uploads/complete.ts";
import { ctxProfile } from "../uploads/profile.ts";
import { uploadView } from "../uploads/view.ts";
import { removeDerivatives } from "../verification/derivatives.ts";
import { errorResponses, IdParams, json, UploadSchema } from "./schemas.ts";

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.iso
    .datetime()
    .optional()
    .openapi({ description: "Cursor: createdAt of the last file of the previous page" }),
  state: z.enum(["uploaded", "ready", "rejected"]).optional(),
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

const tags = ["files"];
const routes = {
  list: createRoute({
    method: "get",
    path: "/v1/files",
    operationId: "listFiles",
    tags,
    summary: "The caller's files, newest first",
    request: { query: ListQuery },
    responses: {
      200: json(z.object({ files: z.array(UploadSchema), next: z.string().nullable() }), "Files"),
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
    responses: { 204: { description: "Deleted" }, ...errorResponses },
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
  const file = async (id: string, principal: { tenant: string; user: string }, readyOnly = false) => {
    const row = await getOwnedUpload(ctx.db, id, principal);
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
    const rows = await listFiles(ctx.db, {
      owner: c.get("principal"),
      limit: query.limit,
      before: query.before ? Date.parse(query.before) : undefined,
      states: query.state ? [query.state] : undefined,
    });
    const last = rows.length === query.limit ? rows[rows.length - 1] : undefined;
    return c.json(
      { files: await views(rows), next: last ? new Date(last.created_at).toISOString() : null },
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
    const removed = await transitionUpload(ctx.db, {
      id: row.id,
      from: ["uploaded", "ready", "rejected"],
      to: "aborted",
      patch: { reason: "deleted" },
    });
    if (removed) {
      await removeStorage(ctx, row);
      await removeDerivatives(ctx, row);
      await audit(ctx.db, {
        action: "file.delete",
        tenant: principal.tenant,
        user: principal.user,
        subject: row.id,
        ip: c.get("ip"),
      });
    }
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

  app.openapi(routes.link, async (c) => {
    const principal = c.get("principal");
    const row = await file(c.req.valid("param").id, principal, true);
    const body = c.req.header("content-type")?.includes("json") ? c.req.valid("json") : {};
    const expiresIn = body.expiresIn ?? DEFAULT_LINK_EXPIRY;
    if (expiresIn > ctx.config.links.maxExpiry) {
      throw errors.badRequest(
        `expiresIn is limited to ${ctx.config.links.maxExpiry} seconds`,
        "ExpiryTooLong",
      );
    }
    const { token, hash } = newLinkToken();
    const now = Date.now();
    const link = {
      id: randomUUID(),
      token_hash: hash,
      upload_id: row.id,
      tenant: principal.tenant,
      user_id: principal.user,
      expires_at: now + expiresIn * 1000,
      max_downloads: body.maxDownloads ?? null,
      revoked_at: null,
      created_at: now,
    };
    await insertLink(ctx.db, link);
    await audit(ctx.db, {
      action: "link.create",
      tenant: principal.tenant,
      user: principal.user,
      subject: row.id,
      ip: c.get("ip"),
      detail: { link: link.id, expiresIn, maxDownloads: link.max_downloads },
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
