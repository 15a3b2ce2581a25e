// Deleting a file: the record goes at once (links die, the file is gone from
// listings); storage's copy is removed now, or by a durable job retried until
// storage has carried it out (a full disk, an outage), never just logged.
import type { BrokerContext } from "../context.ts";
import { enqueueJob } from "../db/jobs.ts";
import type { UploadRow } from "../db/schema.ts";
import { getUpload } from "../db/uploads.ts";
import { objectExists } from "../storage/s3.ts";
import { removeStorage } from "../uploads/complete.ts";
import { removeDerivatives } from "./derivatives.ts";

export const DELETE_JOB = "delete";

/** Removes what storage holds for a deleted file; true once storage no longer has the object. */
async function removeFile(ctx: BrokerContext, row: UploadRow): Promise<boolean> {
  try {
    await removeStorage(ctx, row);
    await removeDerivatives(ctx, row);
  } catch (error) {
    ctx.log.warn({ err: (error as Error).name, upload: row.id }, "could not remove a deleted file");
  }
  return !(await objectExists(ctx.s3, ctx.target.bucket, row.key).catch(() => true));
}

/** After the record was deleted: "deleted", or "deleting" when a job will finish what storage refused. */
export async function removeDeletedFile(ctx: BrokerContext, row: UploadRow): Promise<"deleted" | "deleting"> {
  if (await removeFile(ctx, row)) return "deleted";
  await enqueueJob(ctx.db, { kind: DELETE_JOB, uploadId: row.id });
  ctx.kickWorker();
  return "deleting";
}

/** The job: fails (and is retried with backoff) while storage still holds the object. */
export async function deleteFileJob(ctx: BrokerContext, uploadId: string): Promise<void> {
  const row = await getUpload(ctx.db, uploadId);
  if (row?.state !== "aborted") return;
  if (!(await removeFile(ctx, row))) throw new Error("storage still holds the deleted file's object");
}
