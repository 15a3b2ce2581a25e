// Delivers the outbox to the application's endpoints, signed per the Standard
// Webhooks spec (webhook-id, webhook-timestamp, webhook-signature: one v1
// signature per active secret). At least once: a delivery stays pending until
// an endpoint answers 2xx; failures are retried with exponential backoff until
// `giveUpAfter`; 410 Gone disables the endpoint. Logs name the endpoint, never
// its URL (it may hold a token) nor a secret.
import { Webhook } from "standardwebhooks";
import type { BrokerContext } from "../context.ts";
import type { WorkQueue } from "../db/jobs.ts";
import type { DeliveryRow } from "../db/schema.ts";
import {
  abandonDelivery,
  claimDelivery,
  disableEndpoint,
  getEvent,
  isDisabled,
  recordAttempt,
  releaseDelivery,
  renewDelivery,
} from "../db/webhooks.ts";

export function deliveryQueue(ctx: BrokerContext): WorkQueue<DeliveryRow> {
  return {
    claim: (claim) => claimDelivery(ctx.db, claim),
    renew: ({ item, until }) => renewDelivery(ctx.db, { id: item.id, until }),
    // deliver() records every outcome itself.
    finish: async () => true,
    // Only the broker's own trouble (database) lands here: try again soon, not counted as an attempt.
    fail: async ({ item, now }) => {
      await releaseDelivery(ctx.db, { id: item.id, at: now + 5000 });
      return now + 5000;
    },
  };
}

/** Milliseconds before retry number `attempts` (1 = the first retry): doubling from `initial`, capped, with 10% jitter. */
export function retryDelay(retry: BrokerContext["config"]["webhooks"]["retry"], attempts: number): number {
  const base = Math.min(retry.max, retry.initial * 2 ** Math.max(0, attempts - 1)) * 1000;
  return Math.round(base * (1 + Math.random() * 0.1));
}

/** Signs `payload` with every secret: the `webhook-signature` header value. */
export function signatures(secrets: string[], options: { id: string; at: Date; payload: string }): string {
  return secrets.map((secret) => new Webhook(secret).sign(options.id, options.at, options.payload)).join(" ");
}

/** Bytes of an endpoint's answer kept in the log (the start of an error page helps; more does not). */
const ERROR_TEXT = 200;

async function post(
  url: string,
  options: { headers: Record<string, string>; body: string; timeoutMs: number },
): Promise<{ status: number | null; error: string | null }> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: options.headers,
      body: options.body,
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const text = res.ok ? "" : (await res.text()).slice(0, ERROR_TEXT);
    if (res.ok) await res.body?.cancel();
    return { status: res.status, error: res.ok ? null : `HTTP ${res.status}${text ? `: ${text}` : ""}` };
  } catch (error) {
    const name = (error as Error).name;
    if (name === "TimeoutError") return { status: null, error: `no answer within ${options.timeoutMs} ms` };
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { status: null, error: `could not connect${cause ? ` (${cause})` : ""}` };
  }
}

export async function deliver(ctx: BrokerContext, delivery: DeliveryRow): Promise<void> {
  const { config, db, log } = ctx;
  const endpoint = config.webhooks.endpoints[delivery.endpoint];
  if (!endpoint) {
    await abandonDelivery(db, { id: delivery.id, reason: "endpoint no longer configured" });
    return;
  }
  if (await isDisabled(db, { endpoint: delivery.endpoint, url: endpoint.url })) {
    await abandonDelivery(db, { id: delivery.id, reason: "endpoint disabled: it answered 410 Gone" });
    return;
  }
  const event = await getEvent(db, delivery.event_id);
  if (!event) {
    await abandonDelivery(db, { id: delivery.id, reason: "event no longer stored" });
    return;
  }
  const at = new Date();
  const headers = {
    "content-type": "application/json",
    "user-agent": "Sluice-Webhooks/1",
    "webhook-id": event.id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signatures(endpoint.secrets, { id: event.id, at, payload: event.payload }),
  };
  const started = performance.now();
  const answer = await post(endpoint.url, {
    headers,
    body: event.payload,
    timeoutMs: Math.round(config.webhooks.timeout * 1000),
  });
  const latency = Math.round(performance.now() - started);
  const now = Date.now();
  const attempt = { at: at.getTime(), status: answer.status, latency_ms: latency, error: answer.error };
  const ok = answer.status !== null && answer.status >= 200 && answer.status < 300;
  const context = {
    endpoint: delivery.endpoint,
    delivery: delivery.id,
    type: event.type,
    attempt: delivery.attempts,
  };
  ctx.metrics.inc(
    "sluice_webhook_attempts_total",
    { endpoint: delivery.endpoint, outcome: ok ? "ok" : "error" },
    "Webhook delivery attempts",
  );
  if (ok) {
    await recordAttempt(db, { delivery, attempt, outcome: "delivered" });
    log.debug({ ...context, status: answer.status, ms: latency }, "webhook delivered");
    return;
  }
  if (answer.status === 410) {
    await disableEndpoint(db, { endpoint: delivery.endpoint, url: endpoint.url, reason: "410 Gone", now });
    await recordAttempt(db, { delivery, attempt, outcome: "failed" });
    log.warn(context, "webhook endpoint answered 410 Gone: disabled");
    return;
  }
  const giveUp = now - delivery.order_at >= config.webhooks.retry.giveUpAfter * 1000;
  await recordAttempt(db, {
    delivery,
    attempt,
    outcome: giveUp ? "failed" : { retryAt: now + retryDelay(config.webhooks.retry, delivery.attempts) },
  });
  log.warn({ ...context, status: answer.status, err: answer.error, giveUp }, "webhook delivery failed");
}
