// Writes webhook events into the outbox in the transaction of the state change
// they report, so an event exists exactly when its change committed. Delivery
// happens later, in the background (webhooks/deliverer.ts): nothing here waits
// on the application's endpoints.
import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { WebhookEventType } from "../config/schema.ts";
import type { BrokerContext } from "../context.ts";
import type { Database, UploadRow } from "../db/schema.ts";
import { transitionUpload } from "../db/uploads.ts";
import { insertEvents } from "../db/webhooks.ts";
import { uploadView } from "./view.ts";

let last = 0;
/** Milliseconds, strictly increasing within this process: the order of a file's events. */
function monotonicNow(): number {
  last = Math.max(Date.now(), last + 1);
  return last;
}

/** The Standard Webhooks message id: `msg_` and 128 random bits. */
function messageId(): string {
  return `msg_${randomBytes(16).toString("base64url")}`;
}

export interface OutboxEvent {
  type: WebhookEventType;
  /** The file as it stands after the change. */
  row: UploadRow;
  link?: { id: string };
}

/** The JSON body of a webhook (documented in the OpenAPI document's `webhooks`). */
export function eventPayload(event: OutboxEvent, at: number) {
  return {
    type: event.type,
    timestamp: new Date(at).toISOString(),
    data: {
      tenant: event.row.tenant,
      file: uploadView(event.row),
      ...(event.link ? { link: event.link } : {}),
    },
  };
}

/** The configured endpoints that want this event (by type and by the file's profile). */
function endpointsFor(ctx: Pick<BrokerContext, "config">, event: OutboxEvent): string[] {
  return Object.entries(ctx.config.webhooks.endpoints)
    .filter(
      ([, endpoint]) =>
        (!endpoint.events || endpoint.events.includes(event.type)) &&
        (!endpoint.profiles || endpoint.profiles.includes(event.row.profile)),
    )
    .map(([name]) => name);
}

/** Adds the event to the outbox; call it with the transaction that made the change. */
export async function enqueueEvent(
  trx: Kysely<Database>,
  ctx: Pick<BrokerContext, "config">,
  event: OutboxEvent,
): Promise<void> {
  await enqueueEvents(trx, ctx, [event]);
}

/** Adds several events (a sweep's batch) to the outbox in a few statements. */
export async function enqueueEvents(
  trx: Kysely<Database>,
  ctx: Pick<BrokerContext, "config">,
  events: OutboxEvent[],
): Promise<void> {
  const items = events.flatMap((event) => {
    const endpoints = endpointsFor(ctx, event);
    if (endpoints.length === 0) return [];
    const at = monotonicNow();
    const row = {
      id: messageId(),
      type: event.type,
      tenant: event.row.tenant,
      upload_id: event.row.id,
      payload: JSON.stringify(eventPayload(event, at)),
      created_at: at,
    };
    return [{ event: row, endpoints }];
  });
  if (items.length > 0) await insertEvents(trx, items);
}

/**
 * transitionUpload and the event it causes, in one transaction; wakes the
 * deliverer after the commit. Returns the moved row, or undefined when the
 * upload was no longer in a `from` state (then no event either).
 */
export async function transitionWithEvent(
  ctx: BrokerContext,
  options: Parameters<typeof transitionUpload>[1] & { event: WebhookEventType },
): Promise<UploadRow | undefined> {
  const { event, ...transition } = options;
  const moved = await ctx.db.transaction().execute(async (trx) => {
    const row = await transitionUpload(trx, transition);
    if (row) await enqueueEvent(trx, ctx, { type: event, row });
    return row;
  });
  if (moved) ctx.kickWebhooks();
  return moved;
}
