// The webhook delivery log (attempts, status, latency) and replay, for server
// keys; and the webhook payloads in the OpenAPI document's `webhooks`.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import { requireServer } from "../auth/principal.ts";
import { WEBHOOK_EVENT_TYPES } from "../config/schema.ts";
import type { BrokerContext } from "../context.ts";
import { enableEndpoint, getDelivery, listAttempts, listDeliveries, replayDelivery } from "../db/webhooks.ts";
import { type AppEnv, createRouter } from "../http/env.ts";
import { decodeCursor, nextCursor } from "./cursor.ts";
import { ErrorSchema, errorResponses, IdParams, json, UploadSchema } from "./schemas.ts";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const DeliverySchema = z
  .object({
    id: z.string(),
    eventId: z.string().openapi({ description: "The webhook-id header: the same on every retry and replay" }),
    type: z.enum(WEBHOOK_EVENT_TYPES),
    endpoint: z.string(),
    fileId: z.string(),
    state: z.enum(["pending", "delivered", "failed"]),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastStatus: z.number().int().nullable().openapi({ description: "HTTP status of the last attempt" }),
    lastError: z.string().nullable(),
    lastLatencyMs: z.number().int().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .openapi("WebhookDelivery");
const AttemptSchema = z
  .object({
    at: z.string(),
    status: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Null when no answer came (timeout, refused)" }),
    latencyMs: z.number().int(),
    error: z.string().nullable(),
  })
  .openapi("WebhookAttempt");

const ListQuery = z.object({
  state: z.enum(["pending", "delivered", "failed"]).optional(),
  file: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional().openapi({ description: "`next` of the previous page" }),
});

const tags = ["webhooks"];
const serverOnly = { ...errorResponses, 403: json(ErrorSchema, "Not a server key") };
const routes = {
  list: createRoute({
    method: "get",
    path: "/v1/webhooks/deliveries",
    tags,
    summary: "The tenant's webhook deliveries, newest first (server keys)",
    request: { query: ListQuery },
    responses: {
      200: json(z.object({ deliveries: z.array(DeliverySchema), next: z.string().nullable() }), "Deliveries"),
      ...serverOnly,
    },
  }),
  get: createRoute({
    method: "get",
    path: "/v1/webhooks/deliveries/{id}",
    tags,
    summary: "One delivery with every attempt (server keys)",
    request: { params: IdParams },
    responses: {
      200: json(
        DeliverySchema.extend({ attemptLog: z.array(AttemptSchema) }).openapi("WebhookDeliveryLog"),
        "The delivery",
      ),
      ...serverOnly,
    },
  }),
  replay: createRoute({
    method: "post",
    path: "/v1/webhooks/deliveries/{id}/replay",
    tags,
    summary:
      "Send the delivery's event again, same webhook-id, as a new delivery; re-enables an endpoint disabled by 410 (server keys)",
    request: { params: IdParams },
    responses: { 202: json(DeliverySchema, "The new delivery, due now"), ...serverOnly },
  }),
};

type DeliveryWithType = NonNullable<Awaited<ReturnType<typeof getDelivery>>>;

function deliveryView(row: DeliveryWithType) {
  return {
    id: row.id,
    eventId: row.event_id,
    type: row.type as (typeof WEBHOOK_EVENT_TYPES)[number],
    endpoint: row.endpoint,
    fileId: row.upload_id,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.state === "pending" ? iso(row.next_at) : null,
    lastStatus: row.last_status,
    lastError: row.last_error,
    lastLatencyMs: row.last_latency_ms,
    createdAt: iso(row.created_at)!,
    deliveredAt: iso(row.delivered_at),
  };
}

export function webhookRoutes(ctx: BrokerContext) {
  const app = createRouter();
  const owned = async (id: string, tenant: string) => {
    const row = await getDelivery(ctx.db, { id, tenant });
    if (!row) throw errors.notFound("No such delivery");
    return row;
  };

  app.openapi(routes.list, async (c) => {
    const principal = c.get("principal");
    requireServer(principal);
    const query = c.req.valid("query");
    const rows = await listDeliveries(ctx.db, {
      tenant: principal.tenant,
      uploadId: query.file,
      state: query.state,
      limit: query.limit,
      before: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    const next = nextCursor(rows, query.limit, (row) => ({ at: row.created_at, id: row.id }));
    return c.json({ deliveries: rows.map(deliveryView), next }, 200);
  });

  app.openapi(routes.get, async (c) => {
    const principal = c.get("principal");
    requireServer(principal);
    const row = await owned(c.req.valid("param").id, principal.tenant);
    const attempts = await listAttempts(ctx.db, row.id);
    return c.json(
      {
        ...deliveryView(row),
        attemptLog: attempts.map((a) => ({
          at: iso(a.at)!,
          status: a.status,
          latencyMs: a.latency_ms,
          error: a.error,
        })),
      },
      200,
    );
  });

  app.openapi(routes.replay, async (c) => {
    const principal = c.get("principal");
    requireServer(principal);
    const row = await owned(c.req.valid("param").id, principal.tenant);
    await enableEndpoint(ctx.db, row.endpoint);
    const id = await replayDelivery(ctx.db, { delivery: row, now: Date.now() });
    ctx.kickWebhooks();
    return c.json(deliveryView((await getDelivery(ctx.db, { id, tenant: principal.tenant }))!), 202);
  });

  return app;
}

/** The payload of each event type, as the OpenAPI 3.1 document's `webhooks`. */
export function registerWebhookPayloads(app: OpenAPIHono<AppEnv>): void {
  const descriptions: Record<(typeof WEBHOOK_EVENT_TYPES)[number], string> = {
    "file.ready": "A file passed verification and can be downloaded",
    "file.rejected": "A file failed a check (file.reason says which) and was removed",
    "file.deleted": "A file was deleted (by its owner or a server key)",
    "upload.expired": "A grant expired before the upload completed",
    "link.used": "A share link was followed (one use counted)",
  };
  for (const type of WEBHOOK_EVENT_TYPES) {
    const name = `${type.replace(/(^|\.)([a-z])/g, (_, _dot, c: string) => c.toUpperCase())}Event`;
    const schema = z
      .object({
        type: z.literal(type),
        timestamp: z.string().openapi({ description: "When the change happened (ISO 8601)" }),
        data: z.object({
          tenant: z.string(),
          file: UploadSchema,
          ...(type === "link.used" ? { link: z.object({ id: z.string() }) } : {}),
        }),
      })
      .openapi(name);
    app.openAPIRegistry.registerWebhook({
      method: "post",
      path: type,
      summary: descriptions[type],
      description:
        "Signed per Standard Webhooks: headers webhook-id (the same on retries), webhook-timestamp, webhook-signature (v1, one per active secret). Answer 2xx to acknowledge; anything else is retried with backoff; 410 disables the endpoint.",
      request: { body: { content: { "application/json": { schema } }, required: true } },
      responses: {
        200: { description: "Acknowledged (any 2xx)" },
        410: { description: "Disable this endpoint" },
      },
    });
  }
}
