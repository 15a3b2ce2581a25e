// PUT /v1/put/:profile/:name — an upload in one authenticated request, for
// clients that can make only one (curl -T, IoT devices, scripts). The broker
// validates the headers, records the upload and answers 307 to a presigned PUT
// of storage: the client sends its body there, never here (with
// `Expect: 100-continue` it learns the redirect before sending a byte; see
// server.ts). Completion follows from the storage event, or from
// POST /v1/uploads/:id/complete.
import { createRoute, z } from "@hono/zod-openapi";
import { errors, SluiceError } from "@sluice/core";
import type { BrokerContext } from "../context.ts";
import { MAX_SINGLE_UPLOAD } from "../grants/profile.ts";
import { createRouter } from "../http/env.ts";
import { createUpload } from "../uploads/create.ts";
import { errorResponses } from "./schemas.ts";

const route = createRoute({
  method: "put",
  path: "/v1/put/{profile}/{name}",
  tags: ["uploads"],
  operationId: "putInOneRequest",
  summary: "Upload in one request: answered 307 to a presigned PUT that takes the same body",
  description:
    "Send Content-Length (and Content-Type if the profile limits types); follow the redirect with the body, e.g. `curl -L -T file -H 'Authorization: Bearer …' URL`. The broker never reads the body. `Expect: 100-continue` lets a client learn the redirect before sending it.",
  request: {
    params: z.object({ profile: z.string().min(1).max(100), name: z.string().min(1).max(1024) }),
  },
  responses: {
    307: {
      description: "Redirect to storage; the upload id is in X-Sluice-Upload-Id",
      headers: z.object({ location: z.string(), "x-sluice-upload-id": z.string() }),
    },
    ...errorResponses,
  },
});

export function oneRequestRoutes(ctx: BrokerContext) {
  const app = createRouter();
  app.openapi(route, async (c) => {
    const { profile, name } = c.req.valid("param");
    const length = c.req.header("content-length");
    if (length === undefined || c.req.header("transfer-encoding") !== undefined)
      throw new SluiceError({
        code: "LengthRequired",
        status: 411,
        message: "Send Content-Length: storage must know the size before the upload (no chunked bodies)",
      });
    if (!/^\d{1,16}$/.test(length))
      throw errors.badRequest("Content-Length must be a number of bytes", "InvalidLength");
    const size = Number(length);
    if (size > MAX_SINGLE_UPLOAD)
      throw errors.tooLarge(
        "A one-request upload is a single PUT of at most 5 GiB: use POST /v1/uploads (multipart) for more",
        "EntityTooLarge",
      );
    const chosen = Object.hasOwn(ctx.config.profiles, profile) ? ctx.config.profiles[profile] : undefined;
    if (chosen && chosen.encryption !== "none")
      throw errors.badRequest(
        `Profile ${profile} requires server-side encryption headers, which a redirected client cannot add: use POST /v1/uploads`,
        "EncryptionNeedsGrant",
      );
    const declared = c.req.header("content-type");
    const grant = await createUpload(ctx, {
      owner: c.get("principal"),
      request: { profile, name, size, type: declared ?? "application/octet-stream" },
      ip: c.get("ip"),
      redirected: { type: declared },
    });
    if (!grant.put) throw new Error("a one-request upload is always a single PUT");
    return new Response(null, {
      status: 307,
      // The body (if the client sent it anyway) is not read: close rather than drain it.
      headers: { location: grant.put.url, "x-sluice-upload-id": grant.upload.id, connection: "close" },
    });
  });
  return app;
}
