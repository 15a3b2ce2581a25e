// POST /v1/events/s3: storage event notifications (S3 / MinIO / RGW JSON
// format; who may send them: events-auth.ts). An ObjectCreated event completes the matching upload, exactly as
// the client's own /complete would; both paths are idempotent.
import { createRoute, z } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import type { BrokerContext } from "../context.ts";
import { getUploadByKey } from "../db/uploads.ts";
import { createRouter } from "../http/env.ts";
import { completeUpload } from "../uploads/complete.ts";
import { bearerMatches, signatureMatches } from "./events-auth.ts";
import { json } from "./schemas.ts";

const EventBody = z
  .object({
    Records: z
      .array(
        z
          .object({
            eventName: z.string(),
            s3: z
              .object({
                bucket: z.object({ name: z.string() }).loose(),
                object: z.object({ key: z.string() }).loose(),
              })
              .loose(),
          })
          .loose(),
      )
      .max(1000),
  })
  .loose();

const route = createRoute({
  method: "post",
  path: "/v1/events/s3",
  tags: ["events"],
  summary: "Storage event notification (authenticated with the events token)",
  security: [{ eventsToken: [] }],
  request: { body: { content: { "application/json": { schema: EventBody } }, required: true } },
  responses: { 200: json(z.object({ completed: z.number().int(), ignored: z.number().int() }), "Processed") },
});

/** S3 event keys are URL-encoded with '+' for spaces. */
function eventKey(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

export function eventRoutes(ctx: BrokerContext) {
  const app = createRouter();
  app.use("/v1/events/s3", async (c, next) => {
    const token = ctx.config.events.token;
    if (!token) throw errors.notFound("Storage events are not enabled");
    const signature = c.req.header("x-sluice-signature");
    const ok = signature
      ? signatureMatches({ header: signature, body: await c.req.text(), token })
      : bearerMatches(c.req.header("authorization"), token);
    if (!ok) throw errors.unauthorized("Invalid events token or signature", "InvalidEventsToken");
    await next();
  });
  app.openapi(route, async (c) => {
    let completed = 0;
    let ignored = 0;
    for (const record of c.req.valid("json").Records) {
      const key = eventKey(record.s3.object.key);
      const row =
        key && record.s3.bucket.name === ctx.target.bucket && record.eventName.includes("ObjectCreated")
          ? await getUploadByKey(ctx.db, key)
          : undefined;
      // Multipart uploads are completed by the broker itself (it checks every part).
      if (row?.state !== "pending" || row.method === "multipart") {
        ignored++;
        continue;
      }
      try {
        await completeUpload(ctx, { row, source: "event" });
        completed++;
      } catch (error) {
        ctx.log.warn({ upload: row.id, err: (error as Error).message }, "event completion failed");
        ignored++;
      }
    }
    return c.json({ completed, ignored }, 200);
  });
  return app;
}
