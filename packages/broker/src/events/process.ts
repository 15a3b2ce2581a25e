// Storage event records (S3 notification JSON, as sent by AWS S3, MinIO, RGW
// and the embedded store), however they arrive: webhook, SQS or direct Lambda
// invocation. An ObjectCreated record completes the matching upload exactly as
// the client's own /complete would; both paths are idempotent.
import type { BrokerContext } from "../context.ts";
import { getUploadByKey } from "../db/uploads.ts";
import { completeUpload } from "../uploads/complete.ts";
import { incomingPrefixesOf } from "../uploads/form.ts";

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

/** The upload an object belongs to: by its key, or by the form grant prefix it was posted under. */
async function uploadOf(ctx: BrokerContext, key: string) {
  const exact = await getUploadByKey(ctx.db, key);
  if (exact) return exact;
  for (const prefix of incomingPrefixesOf(key)) {
    const row = await getUploadByKey(ctx.db, prefix);
    if (row?.method === "form") return row;
  }
  return undefined;
}

export async function processStorageEvents(
  ctx: BrokerContext,
  records: StorageEventRecord[],
): Promise<{ completed: number; ignored: number }> {
  let completed = 0;
  let ignored = 0;
  for (const record of records) {
    const key = eventKey(record.s3.object.key);
    const row =
      key && record.s3.bucket.name === ctx.target.bucket && record.eventName.includes("ObjectCreated")
        ? await uploadOf(ctx, key)
        : undefined;
    // Multipart uploads are completed by the broker itself (it checks every part).
    if (row?.state !== "pending" || row.method === "multipart") {
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
