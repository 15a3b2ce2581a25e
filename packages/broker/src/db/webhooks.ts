// The webhook outbox: events (one per state change, written in its
// transaction), deliveries (one per event and endpoint) and their attempts.
// A delivery is claimed with a lease like a job (db/jobs.ts, with the same row
// lock on PostgreSQL), and only when no
// earlier delivery of the same file to the same endpoint is still pending: that
// is what keeps the order per file.
import { randomUUID } from "node:crypto";
import type { ExpressionBuilder, Kysely } from "kysely";
import { locksRows } from "./jobs.ts";
import type { Database, DeliveryRow, WebhookAttemptsTable, WebhookEventRow } from "./schema.ts";

/** Rows per insert statement: well under SQLite's bound-parameter limit (16 columns a delivery). */
const INSERT_CHUNK = 500;

/** Inserts events and one pending delivery per event and endpoint, a few statements for any number. */
export async function insertEvents(
  db: Kysely<Database>,
  items: Array<{ event: WebhookEventRow; endpoints: string[] }>,
): Promise<void> {
  const deliveries = items.flatMap(({ event, endpoints }) =>
    endpoints.map((endpoint) => ({
      id: randomUUID(),
      event_id: event.id,
      endpoint,
      tenant: event.tenant,
      upload_id: event.upload_id,
      order_at: event.created_at,
      state: "pending" as const,
      next_at: event.created_at,
      locked_until: null,
      last_status: null,
      last_error: null,
      last_latency_ms: null,
      created_at: event.created_at,
      delivered_at: null,
    })),
  );
  for (let i = 0; i < items.length; i += INSERT_CHUNK) {
    const events = items.slice(i, i + INSERT_CHUNK).map((item) => item.event);
    await db.insertInto("webhook_events").values(events).execute();
  }
  for (let i = 0; i < deliveries.length; i += INSERT_CHUNK) {
    await db
      .insertInto("webhook_deliveries")
      .values(deliveries.slice(i, i + INSERT_CHUNK))
      .execute();
  }
}

export async function claimDelivery(
  db: Kysely<Database>,
  options: { now: number; leaseMs: number },
): Promise<DeliveryRow | undefined> {
  const { now } = options;
  const free = (eb: ExpressionBuilder<Database, "webhook_deliveries">) =>
    eb.or([eb("locked_until", "is", null), eb("locked_until", "<", now)]);
  return db
    .updateTable("webhook_deliveries")
    .set((eb) => ({ locked_until: now + options.leaseMs, attempts: eb("attempts", "+", 1) }))
    .where("id", "=", (eb) =>
      eb
        .selectFrom("webhook_deliveries as d")
        .select("d.id")
        .where("d.state", "=", "pending")
        .where("d.next_at", "<=", now)
        .where((e) => e.or([e("d.locked_until", "is", null), e("d.locked_until", "<", now)]))
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("webhook_deliveries as e")
                .select("e.id")
                .whereRef("e.endpoint", "=", "d.endpoint")
                .whereRef("e.upload_id", "=", "d.upload_id")
                .where("e.state", "=", "pending")
                .where((o) =>
                  o.or([
                    o("e.order_at", "<", o.ref("d.order_at")),
                    o.and([o("e.order_at", "=", o.ref("d.order_at")), o("e.id", "<", o.ref("d.id"))]),
                  ]),
                ),
            ),
          ),
        )
        .orderBy("d.next_at")
        .limit(1)
        .$if(locksRows(db), (select) => select.forUpdate().skipLocked()),
    )
    .where("state", "=", "pending")
    .where(free)
    .returningAll()
    .executeTakeFirst();
}

export async function renewDelivery(
  db: Kysely<Database>,
  options: { id: string; until: number },
): Promise<void> {
  await db
    .updateTable("webhook_deliveries")
    .set({ locked_until: options.until })
    .where("id", "=", options.id)
    .where("state", "=", "pending")
    .execute();
}

/** Gives a claimed delivery back (the broker could not try it), to be tried at `at`. */
export async function releaseDelivery(
  db: Kysely<Database>,
  options: { id: string; at: number },
): Promise<void> {
  await db
    .updateTable("webhook_deliveries")
    .set((eb) => ({ locked_until: null, next_at: options.at, attempts: eb("attempts", "-", 1) }))
    .where("id", "=", options.id)
    .where("state", "=", "pending")
    .execute();
}

/** Records one attempt and its outcome: delivered, failed for good, or retried at `retryAt`. */
export async function recordAttempt(
  db: Kysely<Database>,
  options: {
    delivery: DeliveryRow;
    attempt: Omit<WebhookAttemptsTable, "id" | "delivery_id">;
    outcome: "delivered" | "failed" | { retryAt: number };
  },
): Promise<void> {
  const { delivery, attempt, outcome } = options;
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto("webhook_attempts")
      .values({ ...attempt, id: randomUUID(), delivery_id: delivery.id })
      .execute();
    await trx
      .updateTable("webhook_deliveries")
      .set({
        state: typeof outcome === "string" ? outcome : "pending",
        next_at: typeof outcome === "string" ? delivery.next_at : outcome.retryAt,
        locked_until: null,
        last_status: attempt.status,
        last_error: attempt.error,
        last_latency_ms: attempt.latency_ms,
        delivered_at: outcome === "delivered" ? attempt.at : null,
      })
      .where("id", "=", delivery.id)
      .execute();
  });
}

/** Ends a delivery without trying it (endpoint gone from the configuration, or disabled). */
export async function abandonDelivery(
  db: Kysely<Database>,
  options: { id: string; reason: string },
): Promise<void> {
  await db
    .updateTable("webhook_deliveries")
    .set({ state: "failed", locked_until: null, last_error: options.reason })
    .where("id", "=", options.id)
    .execute();
}

export async function getEvent(db: Kysely<Database>, id: string): Promise<WebhookEventRow | undefined> {
  return db.selectFrom("webhook_events").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function isDisabled(
  db: Kysely<Database>,
  options: { endpoint: string; url: string },
): Promise<boolean> {
  const row = await db
    .selectFrom("webhook_disabled")
    .select("at")
    .where("endpoint", "=", options.endpoint)
    .where("url", "=", options.url)
    .executeTakeFirst();
  return row !== undefined;
}

export async function disableEndpoint(
  db: Kysely<Database>,
  options: { endpoint: string; url: string; reason: string; now: number },
): Promise<void> {
  await db
    .insertInto("webhook_disabled")
    .values({ endpoint: options.endpoint, url: options.url, at: options.now, reason: options.reason })
    .onConflict((oc) => oc.columns(["endpoint", "url"]).doNothing())
    .execute();
}

export async function enableEndpoint(db: Kysely<Database>, endpoint: string): Promise<void> {
  await db.deleteFrom("webhook_disabled").where("endpoint", "=", endpoint).execute();
}

/** The delivery log of a tenant, newest first; `before` is the last row of the previous page. */
export async function listDeliveries(
  db: Kysely<Database>,
  options: {
    tenant: string;
    uploadId?: string;
    state?: DeliveryRow["state"];
    limit: number;
    before?: { at: number; id: string };
  },
) {
  let query = db
    .selectFrom("webhook_deliveries as d")
    .innerJoin("webhook_events as e", "e.id", "d.event_id")
    .selectAll("d")
    .select("e.type")
    .where("d.tenant", "=", options.tenant);
  if (options.uploadId !== undefined) query = query.where("d.upload_id", "=", options.uploadId);
  if (options.state !== undefined) query = query.where("d.state", "=", options.state);
  const before = options.before;
  if (before)
    query = query.where((eb) =>
      eb.or([
        eb("d.created_at", "<", before.at),
        eb.and([eb("d.created_at", "=", before.at), eb("d.id", "<", before.id)]),
      ]),
    );
  return query.orderBy("d.created_at", "desc").orderBy("d.id", "desc").limit(options.limit).execute();
}

export async function getDelivery(db: Kysely<Database>, options: { id: string; tenant: string }) {
  return db
    .selectFrom("webhook_deliveries as d")
    .innerJoin("webhook_events as e", "e.id", "d.event_id")
    .selectAll("d")
    .select("e.type")
    .where("d.id", "=", options.id)
    .where("d.tenant", "=", options.tenant)
    .executeTakeFirst();
}

export async function listAttempts(db: Kysely<Database>, deliveryId: string) {
  return db
    .selectFrom("webhook_attempts")
    .selectAll()
    .where("delivery_id", "=", deliveryId)
    .orderBy("at")
    .orderBy("id")
    .execute();
}

/** Deletes events older than `before` none of whose deliveries is still pending (their log goes with them). */
export async function pruneEvents(db: Kysely<Database>, before: number): Promise<number> {
  const result = await db
    .deleteFrom("webhook_events")
    .where("created_at", "<", before)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("webhook_deliveries")
            .select("id")
            .whereRef("webhook_deliveries.event_id", "=", "webhook_events.id")
            .where("state", "=", "pending"),
        ),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** A new delivery of an existing event to the same endpoint (same webhook-id), due now. */
export async function replayDelivery(
  db: Kysely<Database>,
  options: { delivery: Pick<DeliveryRow, "event_id" | "endpoint" | "tenant" | "upload_id">; now: number },
): Promise<string> {
  const { delivery, now } = options;
  const id = randomUUID();
  await db
    .insertInto("webhook_deliveries")
    .values({
      event_id: delivery.event_id,
      endpoint: delivery.endpoint,
      tenant: delivery.tenant,
      upload_id: delivery.upload_id,
      id,
      order_at: now,
      state: "pending",
      attempts: 0,
      next_at: now,
      locked_until: null,
      last_status: null,
      last_error: null,
      last_latency_ms: null,
      created_at: now,
      delivered_at: null,
    })
    .execute();
  return id;
}
