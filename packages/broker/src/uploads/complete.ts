// Completion, learned from the client or from a storage event, idempotently:
// HEAD the object, check size (and checksum) against the grant, then queue
// verification. A mismatch rejects the upload and deletes the object.
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
} from "@aws-sdk/client-s3";
import { errors, SluiceError } from "@sluice/core";
import type { BrokerContext } from "../context.ts";
import { auditUpload } from "../db/audit.ts";
import type { UploadRow } from "../db/schema.ts";
import { getUpload, transitionUpload } from "../db/uploads.ts";
import { isNotFound } from "../storage/s3.ts";
import { notUploaded, storageError } from "../storage/target.ts";
import { resolveFormObject } from "./form.ts";
import { transitionWithEvent } from "./outbox.ts";
import { completeMultipart, multipartGone } from "./parts.ts";
import { incomingPrefixOf, isUnresolved } from "./quarantine.ts";
import { withinQuota } from "./quota.ts";

async function headObject(ctx: BrokerContext, row: UploadRow) {
  try {
    return await ctx.s3.send(
      new HeadObjectCommand({
        Bucket: ctx.target.bucket,
        Key: row.incoming_key,
        ...(row.sha256 ? { ChecksumMode: "ENABLED" } : {}),
      }),
    );
  } catch (error) {
    if (isNotFound(error)) throw notUploaded();
    throw storageError(error);
  }
}

export async function deleteObject(ctx: BrokerContext, key: string): Promise<void> {
  try {
    await ctx.s3.send(new DeleteObjectCommand({ Bucket: ctx.target.bucket, Key: key }));
  } catch (error) {
    if (!isNotFound(error)) ctx.log.warn({ err: (error as Error).name, key }, "could not delete object");
  }
}

/** Deletes every object under `prefix`, one DELETE each (DeleteObjects needs a body checksum some stores refuse). */
export async function deleteUnder(ctx: BrokerContext, prefix: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await ctx.s3.send(
      new ListObjectsV2Command({ Bucket: ctx.target.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) await deleteObject(ctx, object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** Rejects an upload in one of `from` states: record the reason, remove the object, audit. */
export async function rejectUpload(
  ctx: BrokerContext,
  options: {
    row: UploadRow;
    from: UploadRow["state"][];
    reason: string;
    /** What was learned about the file on the way (a form upload's name, size, type). */
    patch?: Partial<UploadRow>;
  },
): Promise<UploadRow | undefined> {
  const rejected = await transitionWithEvent(ctx, {
    event: "file.rejected",
    id: options.row.id,
    from: options.from,
    to: "rejected",
    patch: { ...options.patch, reason: options.reason },
  });
  if (!rejected) return undefined;
  await deleteObject(ctx, options.row.key);
  await deleteUnder(ctx, incomingPrefixOf(options.row));
  await auditUpload(ctx.db, rejected, { action: "upload.reject", detail: { reason: options.reason } });
  ctx.metrics.inc("sluice_uploads_rejected_total", {}, "Uploads rejected after upload");
  return rejected;
}

function mismatch(
  row: UploadRow,
  head: { ContentLength?: number; ChecksumSHA256?: string; ETag?: string },
): string | undefined {
  if (head.ContentLength !== row.size)
    return `size is ${head.ContentLength} bytes, the grant was for ${row.size}`;
  // A multipart object's ETag ends in "-{parts}" (S3 and every compatible store).
  const parts = /-(\d+)"?$/.exec(head.ETag ?? "")?.[1];
  if (row.method === "multipart" && parts !== undefined && Number(parts) !== row.part_count)
    return `object has ${parts} parts, the grant was for ${row.part_count}`;
  const expected = row.sha256 ? Buffer.from(row.sha256, "hex").toString("base64") : undefined;
  // A multipart object's checksum is a checksum of checksums ("…-N"), not comparable.
  if (
    expected &&
    head.ChecksumSHA256 &&
    !head.ChecksumSHA256.includes("-") &&
    head.ChecksumSHA256 !== expected
  ) {
    return "SHA-256 does not match the declared checksum";
  }
  return undefined;
}

/**
 * Moves a pending upload to uploaded (and queues verification), or to
 * rejected; returns the row as it now stands. Safe to call any number of times.
 */
export async function completeUpload(
  ctx: BrokerContext,
  options: {
    row: UploadRow;
    parts?: Array<{ partNumber: number; etag: string }>;
    source: "client" | "event" | "sweeper";
    ip?: string;
  },
): Promise<UploadRow> {
  const { row } = options;
  if (row.state === "uploaded" || row.state === "ready" || row.state === "rejected") return row;
  if (row.state !== "pending") throw errors.conflict(`Upload is ${row.state}`, "UploadNotPending");
  // "gone": storage completed it already (a crash before we recorded it, or a
  // concurrent completion); the HEAD below decides whether the object is the one granted.
  const multipart = row.method === "multipart" ? await completeMultipart(ctx, row, options.parts) : undefined;
  if (isUnresolved(row)) {
    const found = await resolveFormObject(ctx, row).catch(async (error) => {
      // The storage event and the browser's redirect arrive together: when the
      // other completion moved the file first, continue from where it stands.
      const now = await getUpload(ctx.db, row.id);
      if (now && !(now.state === "pending" && isUnresolved(now))) return { now };
      throw error;
    });
    if ("now" in found) return completeUpload(ctx, { ...options, row: found.now });
    if ("problem" in found) {
      await rejectUpload(ctx, { row, from: ["pending"], reason: found.problem, patch: found.found });
      return (await getUpload(ctx.db, row.id))!;
    }
    return completeUpload(ctx, { ...options, row: found.row });
  }

  const head = await headObject(ctx, row).catch((error) => {
    if (multipart === "gone" && error instanceof SluiceError && error.code === "NotUploaded")
      throw multipartGone();
    throw error;
  });
  const problem = mismatch(row, head);
  if (problem) {
    await rejectUpload(ctx, { row, from: ["pending"], reason: problem });
    return (await getUpload(ctx.db, row.id))!;
  }
  // The pipeline runs its checks on the object as it is now (its ETag), then
  // promotes it out of quarantine: every upload goes through it, even unchecked ones.
  // The quota is checked again (its bytes were reserved at the grant): a lowered quota holds.
  const owner = { tenant: row.tenant, user: row.user_id };
  const quota = { quotas: ctx.config.quotas, owner, size: 0, pending: false };
  const done = await withinQuota(ctx.db, quota, async (trx) => {
    const moved = await transitionUpload(trx, {
      id: row.id,
      from: ["pending"],
      to: "uploaded",
      patch: { etag: head.ETag ?? null, completed_at: Date.now() },
    });
    if (moved) await ctx.pipeline.start(trx, moved);
    return moved;
  }).catch(async (error) => {
    if ((error as SluiceError).code !== "QuotaExceeded") throw error;
    await rejectUpload(ctx, { row, from: ["pending"], reason: "storage quota exceeded" });
    return undefined;
  });
  if (done) {
    await auditUpload(ctx.db, row, {
      action: "upload.complete",
      ip: options.ip,
      detail: { source: options.source, size: row.size },
    });
    ctx.metrics.inc("sluice_uploads_completed_total", { source: options.source }, "Uploads completed");
    ctx.kickWorker();
  }
  return (await getUpload(ctx.db, row.id))!;
}

/** DELETE /v1/uploads/:id on a pending upload: abort multipart, delete anything written. */
export async function abortUpload(ctx: BrokerContext, row: UploadRow): Promise<UploadRow> {
  if (row.state !== "pending")
    throw errors.conflict(`Upload is ${row.state}; delete the file instead`, "UploadNotPending");
  const aborted = await transitionUpload(ctx.db, { id: row.id, from: ["pending"], to: "aborted" });
  if (aborted) await removeStorage(ctx, row);
  return (await getUpload(ctx.db, row.id))!;
}

/** Removes what storage may hold for an upload: the multipart upload, the file, its quarantine. */
export async function removeStorage(ctx: BrokerContext, row: UploadRow): Promise<void> {
  if (row.multipart_id) {
    try {
      await ctx.s3.send(
        new AbortMultipartUploadCommand({
          Bucket: ctx.target.bucket,
          Key: row.incoming_key,
          UploadId: row.multipart_id,
        }),
      );
    } catch (error) {
      if (!isNotFound(error))
        ctx.log.warn({ err: (error as Error).name, upload: row.id }, "could not abort multipart upload");
    }
  }
  await deleteObject(ctx, row.key);
  await deleteUnder(ctx, incomingPrefixOf(row));
}
