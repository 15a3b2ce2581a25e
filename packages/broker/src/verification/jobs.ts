// The worker's one entry point: each job kind of the durable queue to its handler.
import type { BrokerContext } from "../context.ts";
import type { JobRow } from "../db/schema.ts";
import { getUpload } from "../db/uploads.ts";
import { DELETE_JOB, deleteFileJob } from "./delete-file.ts";
import { isStepJob, pipelineSteps, runStep, startPipeline } from "./pipeline.ts";

/** Job kinds of versions before the per-step pipeline; such a job starts the upload's pipeline afresh. */
const LEGACY_KINDS = new Set(["verify", "derive"]);

export async function runJob(ctx: BrokerContext, job: JobRow): Promise<void> {
  if (isStepJob(job)) return runStep(ctx, job);
  if (job.kind === DELETE_JOB) return deleteFileJob(ctx, job.upload_id);
  if (!LEGACY_KINDS.has(job.kind)) throw new Error(`unknown job kind ${job.kind}`);
  const row = await getUpload(ctx.db, job.upload_id);
  if (row?.state !== "uploaded") return;
  await startPipeline(ctx.db, { ctx, row, steps: pipelineSteps(ctx, row) });
  ctx.kickWorker();
}
