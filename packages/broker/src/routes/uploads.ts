// /v1/uploads: grants, status, lazily signed parts, stored parts, completion, abort.
import { createRoute, z } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import { type Principal, scopeOf, uploaderOf } from "../auth/principal.ts";
import type { BrokerContext } from "../context.ts";
import { getOwnedUpload } from "../db/uploads.ts";
import { MAX_OBJECT_SIZE } from "../grants/profile.ts";
import { createRouter } from "../http/env.ts";
import { abortUpload, completeUpload } from "../uploads/complete.ts";
import { createFormUpload, createUpload, reissueGrant } from "../uploads/create.ts";
import { MetadataSchema } from "../uploads/metadata.ts";
import { listStoredParts, MAX_PARTS_PER_BATCH, signParts } from "../uploads/parts.ts";
import { ctxProfile } from "../uploads/profile.ts";
import { uploadView } from "../uploads/view.ts";
import { ErrorSchema, errorResponses, IdParams, json, SignedRequestSchema, UploadSchema } from "./schemas.ts";

const CreateUploadBody = z
  .object({
    profile: z.string().max(64).optional(),
    name: z.string().min(1).max(1024),
    size: z.number().int().min(0).max(MAX_OBJECT_SIZE),
    type: z.string().min(3).max(255),
    sha256: z
      .string()
      .max(64)
      .optional()
      .openapi({ description: "SHA-256 of the file, hex or base64; storage then verifies it" }),
    metadata: MetadataSchema.optional().openapi({
      description: "The application's context, returned on the file and carried in every webhook",
    }),
    serverMetadata: MetadataSchema.optional().openapi({
      description: "Context only a server key may set (403 otherwise): a user cannot forge it",
    }),
    onBehalfOf: z
      .string()
      .max(256)
      .optional()
      .openapi({ description: "Server keys: the user the upload is for (or the X-Sluice-User header)" }),
  })
  .strict()
  .openapi("CreateUpload");

const CreateFormUploadBody = z
  .object({
    profile: z.string().max(64).optional(),
    form: z.literal(true).openapi({
      description:
        "A plain HTML form grant (no script): key `{upload prefix}` + the file name, size range from the profile, no Content-Type; the broker finds the file, its name, size and type at completion",
    }),
    redirect: z
      .string()
      .max(512)
      // Printable ASCII only: URL parsing drops tabs and newlines and reads `\` as `/`.
      .regex(/^\/(?![/\\])[\x21-\x7e]*$/, "must be a path on this broker, e.g. /form/done")
      .openapi({
        description: "Path on this broker storage redirects the browser to; `?upload=<id>` is added",
      }),
  })
  .strict()
  .openapi("CreateFormUpload");

const GrantSchema = z
  .object({
    upload: UploadSchema,
    put: SignedRequestSchema.optional(),
    post: z
      .object({ url: z.string(), fields: z.record(z.string(), z.string()) })
      .optional()
      .openapi({ description: "Form fields to send in order, then the file field (also for method form)" }),
    multipart: z.object({ partSize: z.number().int(), partCount: z.number().int() }).optional(),
  })
  .openapi("Grant");

const PartsBody = z.object({
  partNumbers: z.array(z.number().int().min(1).max(10_000)).min(1).max(MAX_PARTS_PER_BATCH),
});
const PartGrantsSchema = z.object({
  parts: z.array(SignedRequestSchema.extend({ partNumber: z.number().int() })),
  expiresAt: z.string(),
});
const StoredPartsSchema = z.object({
  parts: z.array(z.object({ partNumber: z.number().int(), etag: z.string(), size: z.number().int() })),
});
const CompleteBody = z
  .object({
    parts: z
      .array(z.object({ partNumber: z.number().int().min(1), etag: z.string().min(1).max(128) }))
      .max(10_000)
      .optional(),
  })
  .strict();

const tags = ["uploads"];
const routes = {
  create: createRoute({
    method: "post",
    path: "/v1/uploads",
    operationId: "createUpload",
    tags,
    summary: "Create an upload grant (PUT, POST form, plain HTML form or multipart)",
    request: {
      body: {
        content: { "application/json": { schema: z.union([CreateUploadBody, CreateFormUploadBody]) } },
        required: true,
      },
    },
    responses: {
      201: json(GrantSchema, "Grant issued"),
      ...errorResponses,
      413: json(ErrorSchema, "Larger than the profile allows"),
      415: json(ErrorSchema, "Type not allowed by the profile"),
      429: json(ErrorSchema, "Rate limited or quota of pending uploads reached"),
    },
  }),
  get: createRoute({
    method: "get",
    path: "/v1/uploads/{id}",
    operationId: "getUpload",
    tags,
    summary: "Upload status",
    request: { params: IdParams },
    responses: { 200: json(UploadSchema, "The upload"), ...errorResponses },
  }),
  signParts: createRoute({
    method: "post",
    path: "/v1/uploads/{id}/parts",
    operationId: "signParts",
    tags,
    summary: "Presign a batch of multipart part URLs, each pinned to its exact length",
    request: {
      params: IdParams,
      body: { content: { "application/json": { schema: PartsBody } }, required: true },
    },
    responses: { 200: json(PartGrantsSchema, "Part URLs"), ...errorResponses },
  }),
  regrant: createRoute({
    method: "post",
    path: "/v1/uploads/{id}/grant",
    operationId: "regrantUpload",
    tags,
    summary: "Re-issue the grant of a pending upload (e.g. after it expired)",
    request: { params: IdParams },
    responses: {
      200: json(GrantSchema, "A fresh grant"),
      ...errorResponses,
      409: json(ErrorSchema, "Not pending"),
    },
  }),
  listParts: createRoute({
    method: "get",
    path: "/v1/uploads/{id}/parts",
    operationId: "listParts",
    tags,
    summary: "Parts already stored (resume)",
    request: { params: IdParams },
    responses: { 200: json(StoredPartsSchema, "Stored parts"), ...errorResponses },
  }),
  complete: createRoute({
    method: "post",
    path: "/v1/uploads/{id}/complete",
    operationId: "completeUpload",
    tags,
    summary: "Report the upload complete (idempotent); the broker checks the object",
    request: {
      params: IdParams,
      body: { content: { "application/json": { schema: CompleteBody } }, required: false },
    },
    responses: {
      200: json(UploadSchema, "The upload after the check"),
      ...errorResponses,
      409: json(ErrorSchema, "Not uploaded yet"),
    },
  }),
  abort: createRoute({
    method: "delete",
    path: "/v1/uploads/{id}",
    operationId: "abortUpload",
    tags,
    summary: "Abort a pending upload",
    request: { params: IdParams },
    responses: { 200: json(UploadSchema, "The aborted upload"), ...errorResponses },
  }),
};

/**
 * A redirect target on this broker: the parsed URL (not the raw string) must
 * keep the broker's origin and be a plain path (no query, fragment or `..`).
 */
export function brokerPath(raw: string, base: string): URL {
  const origin = new URL(base).origin;
  const url = new URL(raw, origin);
  const plain = url.search === "" && url.hash === "" && url.pathname === raw && !/\/\.\.?(\/|$)/.test(raw);
  if (url.origin !== origin || !plain || raw.includes("\\")) {
    throw errors.badRequest("redirect must be a path on this broker, e.g. /form/done", "InvalidRedirect");
  }
  return url;
}

export function uploadRoutes(ctx: BrokerContext) {
  const app = createRouter();
  const owned = async (id: string, principal: Principal) => {
    const row = await getOwnedUpload(ctx.db, id, scopeOf(principal));
    if (!row) throw errors.notFound("No such upload");
    return row;
  };

  app.openapi(routes.create, async (c) => {
    const body = c.req.valid("json");
    const ip = c.get("ip");
    if ("form" in body) {
      const owner = uploaderOf(c.get("principal"));
      const redirect = brokerPath(body.redirect, ctx.config.server.publicUrl ?? new URL(c.req.url).origin);
      return c.json(await createFormUpload(ctx, { owner, request: { ...body, redirect }, ip }), 201);
    }
    const { onBehalfOf, ...request } = body;
    const owner = uploaderOf(c.get("principal"), onBehalfOf);
    return c.json(await createUpload(ctx, { owner, request, ip }), 201);
  });

  app.openapi(routes.get, async (c) =>
    c.json(uploadView(await owned(c.req.valid("param").id, c.get("principal"))), 200),
  );

  app.openapi(routes.signParts, async (c) => {
    const row = await owned(c.req.valid("param").id, c.get("principal"));
    const parts = signParts(ctx, row, c.req.valid("json").partNumbers);
    const expiresAt = new Date(Date.now() + ctxProfile(ctx, row).grantExpiry * 1000).toISOString();
    return c.json({ parts, expiresAt }, 200);
  });

  app.openapi(routes.regrant, async (c) => {
    const row = await owned(c.req.valid("param").id, c.get("principal"));
    return c.json(await reissueGrant(ctx, row), 200);
  });

  app.openapi(routes.listParts, async (c) => {
    const row = await owned(c.req.valid("param").id, c.get("principal"));
    const parts = await listStoredParts(ctx, row);
    return c.json(
      { parts: parts.map((p) => ({ partNumber: p.PartNumber ?? 0, etag: p.ETag ?? "", size: p.Size ?? 0 })) },
      200,
    );
  });

  app.openapi(routes.complete, async (c) => {
    const row = await owned(c.req.valid("param").id, c.get("principal"));
    const body = c.req.header("content-type")?.includes("json") ? c.req.valid("json") : {};
    const after = await completeUpload(ctx, { row, parts: body.parts, source: "client", ip: c.get("ip") });
    // Give verification a moment so most clients see `ready` in this answer.
    if (after.state === "uploaded") await ctx.waitForVerification(row.id, 5000);
    return c.json(uploadView((await getOwnedUpload(ctx.db, row.id, scopeOf(c.get("principal"))))!), 200);
  });

  app.openapi(routes.abort, async (c) => {
    const row = await owned(c.req.valid("param").id, c.get("principal"));
    return c.json(uploadView(await abortUpload(ctx, row)), 200);
  });

  return app;
}
