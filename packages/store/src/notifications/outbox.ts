import type Database from "better-sqlite3";
import { SIGNATURE_HEADER, signNotification } from "./signature.ts";
import type { NotificationTarget } from "./targets.ts";

/**
 * The durable outbox of event notifications: a row per (event, target) in
 * the catalog database, written in the transaction that commits the object
 * change (on the catalog's own connection), and deleted once the
 * target answered 2xx. Failed deliveries are retried with exponential
 * backoff (1 s doubling up to 5 min, with jitter); rows left by a stop or a
 * crash are delivered after the next start. Delivery is at least once: the
 * receiver deduplicates by the x-sluice-delivery id.
 */
const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 5 * 60 * 1000;
/** About a day of retries at the maximum delay; then the row stays, marked dead, for inspection. */
const MAX_ATTEMPTS = 300;
const TIMEOUT_MS = 10_000;
const BATCH = 20;

interface OutboxRow {
  id: number;
  target: string;
  body: string;
  attempts: number;
}

export function backoffMs(attempts: number): number {
  const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempts - 1, 20));
  return Math.round(delay * (0.8 + Math.random() * 0.4));
}

export class NotificationOutbox {
  readonly #db: Database.Database;
  readonly #targets: ReadonlyMap<string, NotificationTarget>;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #delivering: Promise<void> | undefined;
  #again = false;
  #closed = false;

  /** `database`: the catalog's connection, so rows are written inside its transactions. */
  constructor(options: { database: Database.Database; targets: readonly NotificationTarget[] }) {
    this.#db = options.database;
    this.#db.exec(`CREATE TABLE IF NOT EXISTS notification_outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, body TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER, created INTEGER NOT NULL, last_error TEXT);
      CREATE INDEX IF NOT EXISTS notification_outbox_due ON notification_outbox (next_at);`);
    this.#targets = new Map(options.targets.map((target) => [target.arn, target]));
  }

  /**
   * Records deliveries (one per target) in the caller's transaction; the
   * deliverer is woken once that transaction has committed.
   */
  enqueue(deliveries: ReadonlyArray<{ target: string; body: string }>): void {
    if (deliveries.length === 0) return;
    const insert = this.#db.prepare(
      "INSERT INTO notification_outbox (target, body, next_at, created) VALUES (?, ?, ?, ?)",
    );
    const now = Date.now();
    for (const delivery of deliveries) insert.run(delivery.target, delivery.body, now, now);
    queueMicrotask(() => this.kick());
  }

  /** Rows not yet delivered (dead ones included). */
  pending(): number {
    return (this.#db.prepare("SELECT count(*) AS n FROM notification_outbox").get() as { n: number }).n;
  }

  /** Delivers what is due now, then sleeps until the next retry is due. */
  kick(): void {
    if (this.#closed) return;
    if (this.#delivering) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#delivering = this.#deliverDue()
      .catch(() => {})
      .finally(() => {
        this.#delivering = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        } else this.#schedule();
      });
  }

  #schedule(): void {
    if (this.#closed) return;
    const next = this.#db
      .prepare("SELECT min(next_at) AS at FROM notification_outbox WHERE next_at IS NOT NULL")
      .get() as { at: number | null };
    if (next.at === null) return;
    this.#timer = setTimeout(() => this.kick(), Math.max(0, next.at - Date.now()));
    this.#timer.unref();
  }

  async #deliverDue(): Promise<void> {
    for (;;) {
      const due = this.#db
        .prepare(
          "SELECT id, target, body, attempts FROM notification_outbox WHERE next_at IS NOT NULL AND next_at <= ? ORDER BY id LIMIT ?",
        )
        .all(Date.now(), BATCH) as OutboxRow[];
      if (due.length === 0 || this.#closed) return;
      await Promise.all(due.map((row) => this.#deliver(row)));
    }
  }

  async #deliver(row: OutboxRow): Promise<void> {
    const target = this.#targets.get(row.target);
    let error: string | undefined;
    if (!target) error = "target no longer configured";
    else {
      try {
        const response = await fetch(target.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "sluice-store",
            "x-sluice-delivery": String(row.id),
            [SIGNATURE_HEADER]: signNotification({ body: row.body, secret: target.secret }),
          },
          body: row.body,
          redirect: "manual",
          signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(TIMEOUT_MS)]),
        });
        await response.body?.cancel();
        if (response.ok) {
          this.#db.prepare("DELETE FROM notification_outbox WHERE id = ?").run(row.id);
          return;
        }
        error = `HTTP ${response.status}`;
      } catch (cause) {
        if (this.#closed) return; // stopping: the row is delivered after the next start
        error = cause instanceof Error ? cause.name : "network error";
      }
    }
    const attempts = row.attempts + 1;
    const nextAt = attempts >= MAX_ATTEMPTS ? null : Date.now() + backoffMs(attempts);
    this.#db
      .prepare("UPDATE notification_outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?")
      .run(attempts, nextAt, error, row.id);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#delivering;
  }
}
