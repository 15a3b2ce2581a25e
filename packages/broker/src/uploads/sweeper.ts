// Cleans up what uploads leave behind: grants that expired before completion,
// multipart uploads nobody will finish, and objects no upload record owns.
import {
  AbortMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type ListMultipartUploadsCommandOutput,
  ListObjectsV2Command,
} from "@aws-sdk/client-s3";
import type { BrokerContext } from "../context.ts";
import { audit, auditUpload } from "../db/audit.ts";
import { getUploadByKey, listExpiredPending, transitionUpload } from "../db/uploads.ts";
import { isNotFound } from "../storage/s3.ts";
import { completeUpload, deleteObject, removeStorage } from "./complete.ts";
import { incomingPrefixesOf } from "./form.ts";

export interface SweepResult {
  expired: number;
  abortedMultipart: number;
  strays: number;
}

const BATCH = 500;

/** True when storage holds an object at the upload's key (a multipart upload storage completed). */
async function objectExists(ctx: BrokerContext, key: string): Promise<boolean> {
  try {
    await ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.target.bucket, Key: key }));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Pending grants past their expiry become `expired`; anything written for them is removed. */
async function expireGrants(ctx: BrokerContext, now: number): Promise<number> {
  let count = 0;
  for (const row of await listExpiredPending(ctx.db, now, BATCH)) {
    // Storage completed it but the broker never heard (killed in between, event lost):
    // the file is whole, so it is completed and checked, not thrown away.
    if (row.method === "multipart" && (await objectExists(ctx, row.key))) {
      await completeUpload(ctx, { row, source: "sweeper" });
      continue;
    }
    const expired = await transitionUpload(ctx.db, { id: row.id, from: ["pending"], to: "expired", now });
    if (!expired) continue;
    await removeStorage(ctx, row);
    await auditUpload(ctx.db, row, { action: "upload.expire" });
    count++;
  }
  return count;
}

/** Keys the broker makes: `[prefix/]tenant/user/<upload uuid>/name`. Nothing else in the bucket is touched. */
const BROKER_KEY = /(^|\/)[^/]+\/[^/]+\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/[^/]+$/;

/** Image derivatives live beside their file, at `{file key}~derivatives/{name}`. */
const DERIVATIVE_SUFFIX = /~derivatives\/[^/]+$/;

/** A form grant's prefix: `{upload folder}/incoming/` (uploads/form.ts). */
const INCOMING_PREFIX =
  /(^|\/)[^/]+\/[^/]+\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/incoming\/$/;

/** True when the key has the broker's shape but the broker does not expect it to hold data. */
async function unowned(ctx: BrokerContext, key: string, multipartId?: string): Promise<boolean> {
  // Posted with a form grant: the name after the prefix is the browser's and may hold
  // slashes (RGW keeps the path a form sends). Kept only while its upload waits for completion.
  const prefixes = incomingPrefixesOf(key).filter((prefix) => INCOMING_PREFIX.test(prefix));
  if (prefixes.length > 0) {
    if (multipartId !== undefined) return true;
    for (const prefix of prefixes) {
      const row = await getUploadByKey(ctx.db, prefix);
      if (row?.method === "form" && row.state === "pending") return false;
    }
    return true;
  }
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
  const result: SweepResult = { expired: await expireGrants(ctx, now), abortedMultipart: 0, strays: 0 };
  if (options.storage) {
    const olderThan = now - ctx.config.sweeper.strayAge * 1000;
    result.abortedMultipart = await abortAbandonedMultipart(ctx, olderThan);
    result.strays = await deleteStrays(ctx, olderThan);
  }
  if (result.expired || result.abortedMultipart || result.strays) ctx.log.info(result, "sweep");
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
