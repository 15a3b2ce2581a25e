// The worker's one entry point: each job kind of the durable queue to its handler.
import type { BrokerContext } from "../context.ts";
import type { JobRow } from "../db/schema.ts";
import { getUpload } from "../db/uploads.ts";
import { isStepJob, pipelineSteps, runStep, startPipeline } from "./pipeline.ts";
import { markReady } from "./ready.ts";

/** Job kinds of versions before the per-step pipeline; such a job starts the upload's pipeline afresh. */
const LEGACY_KINDS = new Set(["verify", "derive"]);

export async function runJob(ctx: BrokerContext, job: JobRow): Promise<void> {
  if (isStepJob(job)) return runStep(ctx, job);
  if (!LEGACY_KINDS.has(job.kind)) throw new Error(`unknown job kind ${job.kind}`);
  const row = await getUpload(ctx.db, job.upload_id);
  if (row?.state !== "uploaded") return;
  const steps = pipelineSteps(ctx, row);
  if (steps.length === 0) return markReady(ctx, row);
  await startPipeline(ctx.db, { ctx, row, steps });
  ctx.kickWorker();
}
