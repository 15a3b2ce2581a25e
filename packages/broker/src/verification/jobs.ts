// The worker's one entry point: each job kind of the durable queue to its handler.
import type { BrokerContext } from "../context.ts";
import type { JobRow } from "../db/schema.ts";
import { VERIFY_JOB } from "../uploads/complete.ts";
import { DELETE_JOB, deleteFileJob } from "./delete-file.ts";
import { DERIVE_JOB, deriveUpload } from "./derivatives.ts";
import { verifyUpload } from "./verify.ts";

export async function runJob(ctx: BrokerContext, job: JobRow): Promise<void> {
  if (job.kind === VERIFY_JOB) return verifyUpload(ctx, job.upload_id);
  if (job.kind === DERIVE_JOB) return deriveUpload(ctx, job.upload_id);
  if (job.kind === DELETE_JOB) return deleteFileJob(ctx, job.upload_id);
  throw new Error(`unknown job kind ${job.kind}`);
}
