// The worker's one entry point: each job kind of the durable queue to its handler.
// Whatever step finds the quarantined object changed since completion (its
// grant was used again) rejects the upload: what was checked is gone.
import type { BrokerContext } from "../context.ts";
import type { JobRow } from "../db/schema.ts";
import { getUpload } from "../db/uploads.ts";
import { rejectUpload, VERIFY_JOB } from "../uploads/complete.ts";
import { isQuarantineChange } from "../uploads/quarantine.ts";
import { DELETE_JOB, deleteFileJob } from "./delete-file.ts";
import { DERIVE_JOB, deriveUpload, removeDerivatives } from "./derivatives.ts";
import { verifyUpload } from "./verify.ts";

function dispatch(ctx: BrokerContext, job: JobRow): Promise<void> {
  if (job.kind === VERIFY_JOB) return verifyUpload(ctx, job.upload_id);
  if (job.kind === DERIVE_JOB) return deriveUpload(ctx, job.upload_id);
  if (job.kind === DELETE_JOB) return deleteFileJob(ctx, job.upload_id);
  throw new Error(`unknown job kind ${job.kind}`);
}

export async function runJob(ctx: BrokerContext, job: JobRow): Promise<void> {
  try {
    await dispatch(ctx, job);
  } catch (error) {
    if (!isQuarantineChange(error)) throw error;
    const row = await getUpload(ctx.db, job.upload_id);
    if (row?.state !== "uploaded") return;
    await removeDerivatives(ctx, row);
    await rejectUpload(ctx, { row, from: ["uploaded"], reason: (error as Error).message });
  }
}
