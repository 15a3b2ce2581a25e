// Storage event records (S3 notification JSON, as sent by AWS S3, MinIO, RGW
// and the embedded store), however they arrive: webhook, SQS or direct Lambda
// invocation. An ObjectCreated record of a quarantined object completes its
// pending upload exactly as the client's own /complete would (both paths are
// idempotent); one whose upload is past pending is a stray left by a grant
// used again, deleted at once (uploads/quarantine.ts).
import type { BrokerContext } from "../context.ts";
import { audit } from "../db/audit.ts";
import { completeUpload, deleteObject } from "../uploads/complete.ts";
import { quarantineOwner } from "../uploads/quarantine.ts";

export interface StorageEventRecord {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string } };
}

/** S3 event keys are URL-encoded with '+' for spaces. */
function eventKey(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

export async function processStorageEvents(
  ctx: BrokerContext,
  records: StorageEventRecord[],
): Promise<{ completed: number; ignored: number }> {
  let completed = 0;
  let ignored = 0;
  for (const record of records) {
    const key = eventKey(record.s3.object.key);
    const created = record.s3.bucket.name === ctx.target.bucket && record.eventName.includes("ObjectCreated");
    const row = key && created ? await quarantineOwner(ctx, key) : undefined;
    if (!key || !row) {
      ignored++;
      continue;
    }
    // Verification is reading it (and pins its ETag); ready, rejected, aborted, expired: a stray.
    if (row.state !== "pending") {
      if (row.state !== "uploaded" || key !== row.incoming_key) {
        await deleteObject(ctx, key);
        await audit(ctx.db, { action: "storage.stray-delete", subject: key, detail: { upload: row.id } });
      }
      ignored++;
      continue;
    }
    // Multipart uploads are completed by the broker itself (it checks every part).
    if (row.method === "multipart") {
      ignored++;
      continue;
    }
    try {
      await completeUpload(ctx, { row, source: "event" });
      completed++;
    } catch (error) {
      ctx.log.warn({ upload: row.id, err: (error as Error).message }, "event completion failed");
      ignored++;
    }
  }
  return { completed, ignored };
}
