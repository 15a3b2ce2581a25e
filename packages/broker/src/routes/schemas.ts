// Schemas shared by the route files; they validate requests and generate /openapi.json.
import { z } from "@hono/zod-openapi";

export const ErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .openapi("Error");

export const DerivativeSchema = z
  .object({
    name: z.string(),
    type: z.string(),
    size: z.number().int(),
    width: z.number().int(),
    height: z.number().int(),
  })
  .openapi("Derivative");

export const CheckSchema = z
  .object({
    step: z.string().openapi({ example: "scan" }),
    status: z
      .enum(["queued", "running", "retrying", "passed", "skipped", "failed", "error", "cancelled"])
      .openapi({
        description:
          "failed: the step rejected the file; retrying: an attempt failed and will be retried; error: retries ran out, the file waits for an operator; cancelled: an earlier step rejected the file",
      }),
    ms: z.number().int().nullable().openapi({ description: "Duration of the last attempt" }),
    detail: z
      .string()
      .nullable()
      .openapi({ description: "What the step found or changed, or why it failed" }),
    attempts: z.number().int(),
  })
  .openapi("Check");

export const UploadSchema = z
  .object({
    id: z.string(),
    state: z.enum(["pending", "uploaded", "ready", "rejected", "aborted", "expired"]),
    method: z.enum(["put", "post", "multipart", "form"]),
    profile: z.string(),
    name: z.string().openapi({ description: "Empty for a form upload until it completes" }),
    type: z.string(),
    size: z.number().int(),
    key: z.string().openapi({ description: "For a form upload, the grant's key prefix until it completes" }),
    sha256: z.string().nullable(),
    reason: z.string().nullable().openapi({ description: "Why the upload was rejected" }),
    createdAt: z.string(),
    expiresAt: z.string(),
    completedAt: z.string().nullable(),
    metadata: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .openapi({ description: "The application's context set at grant time ({} when none)" }),
    serverMetadata: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .openapi({ description: "Context set by a server key ({} when none)" }),
    user: z.string().openapi({ description: "The owner (the user the file was uploaded by or for)" }),
    partSize: z.number().int().nullable().optional(),
    partCount: z.number().int().nullable().optional(),
    derivatives: z
      .array(DerivativeSchema)
      .optional()
      .openapi({ description: "Image derivatives (files only), e.g. thumb-256" }),
    checks: z.array(CheckSchema).optional().openapi({
      description: "The profile's pipeline steps, in order, with their status (files only)",
    }),
  })
  .openapi("Upload");

export const SignedRequestSchema = z
  .object({
    url: z.string(),
    headers: z.record(z.string(), z.string()).openapi({
      description:
        "Headers that are part of the signature; send them exactly (content-length follows from the body).",
    }),
  })
  .openapi("SignedRequest");

export const IdParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const errorResponses = {
  400: { description: "Bad input", content: { "application/json": { schema: ErrorSchema } } },
  401: { description: "Not authenticated", content: { "application/json": { schema: ErrorSchema } } },
  404: {
    description: "Not found (also: another owner's id)",
    content: { "application/json": { schema: ErrorSchema } },
  },
} as const;

export const json = <T>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
