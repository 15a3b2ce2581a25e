// Cleans up what uploads leave behind: grants that expired before completion,
// multipart uploads nobody will finish, and objects no upload record owns.
import {
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  type ListMultipartUploadsCommandOutput,
  ListObjectsV2Command,
} from "@aws-sdk/client-s3";
import { SluiceError } from "@sluice/core";
import type { BrokerContext } from "../context.ts";
import { audit, auditUpload, auditUploads } from "../db/audit.ts";
import type { UploadRow } from "../db/schema.ts";
import { expirePending, getUploadByKey, listExpiredPending, listPendingMultipart } from "../db/uploads.ts";
import { pruneEvents } from "../db/webhooks.ts";
import { deleteObjects, eachLimited } from "../storage/delete-objects.ts";
import { objectExists } from "../storage/s3.ts";
import { completeUpload, deleteObject, removeStorage } from "./complete.ts";
import { enqueueEvents, transitionWithEvent } from "./outbox.ts";
import { listStoredParts } from "./parts.ts";
import { ctxProfile } from "./profile.ts";
import { quarantineKept, quarantineOwner } from "./quarantine.ts";

export interface SweepResult {
  expired: number;
  /** Multipart uploads aborted for having no part stored for their profile's multipartIdle. */
  idleMultipart: number;
  abortedMultipart: number;
  strays: number;
  /** Webhook events (with their delivery log) past webhooks.retention. */
  prunedEvents: number;
}

/** Grants expired per statement (bound-parameter limits of the audit insert). */
const BATCH = 500;
/** Multipart aborts and form-prefix listings in flight at once. */
const PARALLEL_REMOVALS = 8;

/**
 * Pending grants past their expiry become `expired`, all of them, 500 per
 * transaction (state change and audit rows together); what was written for
 * them is removed with DeleteObjects, 1000 keys a request. A delete that fails
 * leaves an object of an expired upload, which the storage sweep removes.
 */
async function expireGrants(ctx: BrokerContext, now: number): Promise<number> {
  let count = 0;
  // Storage completed some multipart uploads the broker never heard of (killed in between,
  // event lost): those files are whole, so they are completed and checked, not thrown away.
  for (const row of await listExpiredPending(ctx.db, now, BATCH, "multipart")) {
    if (await objectExists(ctx.s3, ctx.target.bucket, row.incoming_key))
      await completeUpload(ctx, { row, source: "sweeper" });
  }
  for (;;) {
    const expired = await ctx.db.transaction().execute(async (trx) => {
      const rows = await expirePending(trx, now, BATCH);
      await auditUploads(trx, rows, { action: "upload.expire" });
      await enqueueEvents(
        trx,
        ctx,
        rows.map((row) => ({ type: "upload.expired" as const, row })),
      );
      return rows;
    });
    if (expired.length > 0) ctx.kickWebhooks();
    // A single PUT or POST wrote one object, in quarantine: batched deletes. The others list or abort.
    const separate = expired.filter((row) => row.multipart_id || row.method === "form");
    const objects = expired.filter((row) => !separate.includes(row)).map((row) => row.incoming_key);
    await deleteObjects({ s3: ctx.s3, bucket: ctx.target.bucket, log: ctx.log }, objects);
    await eachLimited(separate, PARALLEL_REMOVALS, (row) => removeStorage(ctx, row));
    count += expired.length;
    if (expired.length < BATCH) return count;
  }
}

/** When a part of the upload was last stored, or undefined when none was (or storage lost the upload). */
async function lastPartAt(ctx: BrokerContext, row: UploadRow): Promise<number | undefined> {
  try {
    const parts = await listStoredParts(ctx, row);
    return parts.reduce<number | undefined>((last, part) => {
      const at = part.LastModified?.getTime();
      return at !== undefined && (last === undefined || at > last) ? at : last;
    }, undefined);
  } catch (error) {
    if (error instanceof SluiceError && error.code === "MultipartUploadGone") return undefined;
    throw error;
  }
}

/**
 * Pending multipart uploads with no part stored for their profile's
 * multipartIdle (counted from the grant when no part came) are aborted: their
 * parts stop holding storage long before the upload's lifetime runs out.
 */
async function abortIdleMultipart(ctx: BrokerContext, now: number): Promise<number> {
  const idle = (row: UploadRow) => ctxProfile(ctx, row).multipartIdle * 1000;
  const shortest = Math.min(...Object.values(ctx.config.profiles).map((p) => p.multipartIdle * 1000));
  let count = 0;
  for (const row of await listPendingMultipart(ctx.db, { createdBefore: now - shortest, limit: BATCH })) {
    const last = (await lastPartAt(ctx, row)) ?? row.created_at;
    if (now - last <= idle(row)) continue;
    // Storage may have completed it meanwhile (completion checks that first).
    if (await objectExists(ctx.s3, ctx.target.bucket, row.incoming_key)) continue;
    const expired = await transitionWithEvent(ctx, {
      event: "upload.expired",
      id: row.id,
      from: ["pending"],
      to: "expired",
      now,
    });
    if (!expired) continue;
    await removeStorage(ctx, row);
    await auditUpload(ctx.db, row, { action: "upload.expire", detail: { idleSince: last } });
    count++;
  }
  return count;
}

/** Keys the broker makes: `[prefix/]tenant/user/<upload uuid>/name`. Nothing else in the bucket is touched. */
const BROKER_KEY = /(^|\/)[^/]+\/[^/]+\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/[^/]+$/;

/** Image derivatives live beside their file, at `{file key}~derivatives/{name}`. */
const DERIVATIVE_SUFFIX = /~derivatives\/[^/]+$/;

/** A grant's quarantine, `{upload folder}/incoming/…` (uploads/quarantine.ts). */
const QUARANTINED =
  /(^|\/)[^/]+\/[^/]+\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/incoming\//;

/** True when the key has the broker's shape but the broker does not expect it to hold data. */
async function unowned(ctx: BrokerContext, key: string, multipartId?: string): Promise<boolean> {
  // Written by a grant: kept only while its upload may complete or is being verified.
  // The name after the prefix may hold slashes (RGW keeps a form's path).
  const owner = await quarantineOwner(ctx, key);
  if (owner) return !quarantineKept(owner, key, multipartId);
  if (QUARANTINED.test(key)) return true;
  const fileKey = key.replace(DERIVATIVE_SUFFIX, "");
  if (!BROKER_KEY.test(fileKey)) return false;
  const row = await getUploadByKey(ctx.db, fileKey);
  if (!row) return true;
  // A derivative is kept while its file is being verified or ready.
  if (fileKey !== key)
    return multipartId !== undefined || (row.state !== "uploaded" && row.state !== "ready");
  if (multipartId !== undefined) return row.state !== "pending" || row.multipart_id !== multipartId;
  return row.state === "aborted" || row.state === "expired" || row.state === "rejected";
}

async function abortAbandonedMultipart(ctx: BrokerContext, olderThan: number): Promise<number> {
  let count = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  do {
    const page: ListMultipartUploadsCommandOutput = await ctx.s3.send(
      new ListMultipartUploadsCommand({
        Bucket: ctx.target.bucket,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      }),
    );
    for (const upload of page.Uploads ?? []) {
      if (!upload.Key || !upload.UploadId || (upload.Initiated?.getTime() ?? 0) > olderThan) continue;
      if (!(await unowned(ctx, upload.Key, upload.UploadId))) continue;
      await ctx.s3.send(
        new AbortMultipartUploadCommand({
          Bucket: ctx.target.bucket,
          Key: upload.Key,
          UploadId: upload.UploadId,
        }),
      );
      count++;
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
  } while (keyMarker);
  return count;
}

async function deleteStrays(ctx: BrokerContext, olderThan: number): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await ctx.s3.send(
      new ListObjectsV2Command({ Bucket: ctx.target.bucket, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      if (!object.Key || (object.LastModified?.getTime() ?? 0) > olderThan) continue;
      if (!(await unowned(ctx, object.Key))) continue;
      await deleteObject(ctx, object.Key);
      await audit(ctx.db, { action: "storage.stray-delete", subject: object.Key });
      count++;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return count;
}

/**
 * One sweep. `storage: true` also lists the bucket (strays, abandoned multipart),
 * which costs a full listing and so runs less often.
 */
export async function sweep(
  ctx: BrokerContext,
  options: { now?: number; storage?: boolean } = {},
): Promise<SweepResult> {
  const now = options.now ?? Date.now();
  const result: SweepResult = {
    expired: await expireGrants(ctx, now),
    idleMultipart: 0,
    abortedMultipart: 0,
    strays: 0,
    prunedEvents: await pruneEvents(ctx.db, now - ctx.config.webhooks.retention * 1000),
  };
  if (options.storage) {
    result.idleMultipart = await abortIdleMultipart(ctx, now);
    const olderThan = now - ctx.config.sweeper.strayAge * 1000;
    result.abortedMultipart = await abortAbandonedMultipart(ctx, olderThan);
    result.strays = await deleteStrays(ctx, olderThan);
  }
  if (
    result.expired ||
    result.idleMultipart ||
    result.abortedMultipart ||
    result.strays ||
    result.prunedEvents
  )
    ctx.log.info(result, "sweep");
  return result;
}

/** Runs sweeps on an interval (storage listing at most hourly); returns a stop function. */
export function scheduleSweeps(ctx: BrokerContext): () => Promise<void> {
  const intervalMs = ctx.config.sweeper.interval * 1000;
  let lastStorageSweep = 0;
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    const now = Date.now();
    const storage = now - lastStorageSweep >= Math.max(intervalMs, 3_600_000);
    if (storage) lastStorageSweep = now;
    running = sweep(ctx, { now, storage })
      .catch((error) => ctx.log.warn({ err: (error as Error).message }, "sweep failed"))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
