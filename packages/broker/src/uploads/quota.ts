// Quotas (bytes held or promised, uploads in progress) checked and reserved
// atomically with the change that uses them: each such transaction first
// writes the user's row in quota_locks, so transactions of one user run one
// at a time on SQLite and PostgreSQL alike, then sums the user's uploads
// (the uploads table is the only record of usage: an aborted, expired or
// rejected upload stops counting in the same statement that moves it).
import { errors } from "@sluice/core";
import type { Kysely, Transaction } from "kysely";
import type { Principal } from "../auth/principal.ts";
import type { BrokerConfig } from "../config/schema.ts";
import type { Database } from "../db/schema.ts";
import { lockUsage, usage } from "../db/uploads.ts";

type Quotas = BrokerConfig["quotas"];

/** Throws when `size` more bytes (and, with `pending`, one more pending upload) would exceed the quota. */
export async function checkQuota(
  db: Kysely<Database>,
  options: { quotas: Quotas; owner: Principal; size: number; pending: boolean },
): Promise<void> {
  const { maxBytesPerUser, maxPendingPerUser } = options.quotas;
  if (maxBytesPerUser === undefined && maxPendingPerUser === undefined) return;
  const used = await usage(db, options.owner);
  if (maxBytesPerUser !== undefined && used.bytes + options.size > maxBytesPerUser) {
    throw errors.tooLarge("Storage quota exceeded", "QuotaExceeded");
  }
  if (options.pending && maxPendingPerUser !== undefined && used.pending >= maxPendingPerUser) {
    throw errors.tooManyRequests(60, "Too many uploads in progress");
  }
}

/**
 * Runs `change` in a transaction after the user's quota lock and the check,
 * so no concurrent grant of the same user can pass on the same headroom.
 */
export async function withinQuota<T>(
  db: Kysely<Database>,
  options: { quotas: Quotas; owner: Principal; size: number; pending: boolean },
  change: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const { maxBytesPerUser, maxPendingPerUser } = options.quotas;
    if (maxBytesPerUser !== undefined || maxPendingPerUser !== undefined) {
      await lockUsage(trx, options.owner);
      await checkQuota(trx, options);
    }
    return change(trx);
  });
}
