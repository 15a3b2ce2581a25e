// POST /v1/events/s3: storage event notifications by webhook (who may send
// them: events-auth.ts; what they do: events/process.ts).
import { createRoute, z } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import type { BrokerContext } from "../context.ts";
import { bearerMatches, opaqueDataMatches, signatureMatches } from "../events/auth.ts";
import { processStorageEvents } from "../events/process.ts";
import { createRouter } from "../http/env.ts";
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
  operationId: "receiveStorageEvents",
  tags: ["events"],
  summary: "Storage event notification (authenticated with the events token)",
  security: [{ eventsToken: [] }],
  request: { body: { content: { "application/json": { schema: EventBody } }, required: true } },
  responses: { 200: json(z.object({ completed: z.number().int(), ignored: z.number().int() }), "Processed") },
});

export function eventRoutes(ctx: BrokerContext) {
  const app = createRouter();
  app.use("/v1/events/s3", async (c, next) => {
    const token = ctx.config.events.token;
    if (!token) throw errors.notFound("Storage events are not enabled");
    const signature = c.req.header("x-sluice-signature");
    const authorization = c.req.header("authorization");
    const ok = signature
      ? signatureMatches({ header: signature, body: await c.req.text(), token })
      : authorization
        ? bearerMatches(authorization, token)
        : opaqueDataMatches(await c.req.text(), token);
    if (!ok) throw errors.unauthorized("Invalid events token or signature", "InvalidEventsToken");
    await next();
  });
  app.openapi(route, async (c) => c.json(await processStorageEvents(ctx, c.req.valid("json").Records), 200));
  return app;
}
