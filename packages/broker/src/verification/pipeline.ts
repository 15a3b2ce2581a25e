// One pipeline per upload, declared by its profile: the ordered steps below
// that the profile turns on, then promotion out of quarantine, always last. Each step runs as a durable job of its own (kind
// `step:{name}`), with its status, timing and error recorded as the upload's
// check, so the file record says why a file is not ready yet. A passed or
// skipped step queues the next one in the same transaction; after the last
// one the file is ready. A rejecting step rejects the file and cancels the
// rest. A step that throws is retried with backoff (the file stays
// `uploaded`); after the retry budget its `exhausted` decides. A step that
// finds the quarantined object changed since completion (its grant was used
// again) rejects the file: what was checked is gone.
//
// New steps plug in by being added to PIPELINE at their place.
import type { Kysely } from "kysely";
import type { BrokerContext } from "../context.ts";
import { cancelChecks, insertChecks, listChecks, updateCheck } from "../db/checks.ts";
import { enqueueJob, retryDelay } from "../db/jobs.ts";
import type { CheckRow, CheckStatus, Database, JobRow, UploadRow } from "../db/schema.ts";
import { getUpload } from "../db/uploads.ts";
import { rejectUpload } from "../uploads/complete.ts";
import { isQuarantineChange } from "../uploads/quarantine.ts";
import { derivativesStep, removeDerivatives } from "./derivatives.ts";
import { needsDigest } from "./digest.ts";
import { promoteStep } from "./promote.ts";
import { markReady } from "./ready.ts";
import { scanStep } from "./scan.ts";
import type { PipelineStep, StepOutcome } from "./step.ts";
import { stripStep } from "./strip.ts";
import { checksumStep, sniffStep } from "./verify.ts";

/**
 * Every step, in the order they run: integrity, content type, malware,
 * metadata, thumbnails, then promotion, the only write of the file's key.
 */
export const PIPELINE: readonly PipelineStep[] = [
  checksumStep,
  sniffStep,
  scanStep,
  stripStep,
  derivativesStep,
  promoteStep,
];

const JOB_PREFIX = "step:";
export const stepJobKind = (step: string) => `${JOB_PREFIX}${step}`;
export const isStepJob = (job: JobRow) => job.kind.startsWith(JOB_PREFIX);

/** The profile's steps for this upload (promotion always among them). */
export function pipelineSteps(ctx: BrokerContext, row: UploadRow): PipelineStep[] {
  return PIPELINE.filter((step) => step.enabled(ctx, row));
}

/**
 * Records the upload's checks and queues its first step, inside the
 * completion's transaction. What completion itself checked (size; a
 * checksum storage verified) is recorded as passed.
 */
export async function startPipeline(
  db: Kysely<Database>,
  options: { ctx: BrokerContext; row: UploadRow; steps: PipelineStep[] },
): Promise<void> {
  const { ctx, row, steps } = options;
  const checkedByStorage = row.sha256 !== null && !needsDigest(ctx, row);
  await insertChecks(db, row.id, [
    { step: "size", status: "passed", detail: `${row.size} bytes, as granted` },
    ...(checkedByStorage
      ? [{ step: "checksum", status: "passed" as const, detail: "SHA-256 checked by storage on upload" }]
      : []),
    ...steps.map((step) => ({ step: step.name, status: "queued" as const })),
  ]);
  if (steps[0]) await enqueueJob(db, { kind: stepJobKind(steps[0].name), uploadId: row.id });
}

const message = (error: Error) => `${error.name}: ${error.message}`.slice(0, 300);

/** Records the outcome and moves the file on: next step, ready, or rejected. */
async function settle(
  ctx: BrokerContext,
  options: { row: UploadRow; checks: CheckRow[]; check: CheckRow; outcome: StepOutcome; ms: number | null },
): Promise<void> {
  const { row, check, outcome } = options;
  const status: CheckStatus = outcome.status === "rejected" ? "failed" : outcome.status;
  const patch = {
    status,
    ms: options.ms,
    detail: (outcome.status === "rejected" ? (outcome.detail ?? outcome.reason) : outcome.detail) ?? null,
    finished_at: Date.now(),
  };
  if (outcome.status === "rejected") {
    await updateCheck(ctx.db, { uploadId: row.id, step: check.step, patch });
    await cancelChecks(ctx.db, row.id);
    await removeDerivatives(ctx, row);
    await rejectUpload(ctx, { row, from: ["uploaded"], reason: outcome.reason });
    return;
  }
  const next = options.checks.find((c) => c.position > check.position && c.status === "queued");
  await ctx.db.transaction().execute(async (trx) => {
    await updateCheck(trx, { uploadId: row.id, step: check.step, patch });
    if (next) await enqueueJob(trx, { kind: stepJobKind(next.step), uploadId: row.id });
  });
  if (next) ctx.kickWorker();
  else await markReady(ctx, (await getUpload(ctx.db, row.id)) ?? row);
}

/** Job handler for `step:{name}`: one attempt at one step of one upload. */
export async function runStep(ctx: BrokerContext, job: JobRow): Promise<void> {
  const name = job.kind.slice(JOB_PREFIX.length);
  const row = await getUpload(ctx.db, job.upload_id);
  if (row?.state !== "uploaded") return;
  const checks = await listChecks(ctx.db, [row.id]);
  const check = checks.find((c) => c.step === name);
  if (!check) return;
  // A re-run after a crash between the step and its job's end: move on from the recorded outcome.
  if (check.status === "passed" || check.status === "skipped") {
    const outcome = { status: check.status, detail: check.detail ?? undefined };
    return settle(ctx, { row, checks, check, outcome, ms: check.ms });
  }
  const step = PIPELINE.find((s) => s.name === name);
  const started = performance.now();
  await updateCheck(ctx.db, {
    uploadId: row.id,
    step: name,
    patch: { status: "running", attempts: job.attempts, started_at: Date.now(), finished_at: null },
  });
  const elapsed = () => Math.round(performance.now() - started);
  let outcome: StepOutcome;
  try {
    // A step this version no longer has (queued before an upgrade) is passed over.
    outcome = step ? await step.run(ctx, row) : { status: "skipped", detail: "step no longer exists" };
  } catch (caught) {
    const error = caught instanceof Error ? caught : new Error(String(caught));
    if (isQuarantineChange(error)) {
      await settle(ctx, {
        row,
        checks,
        check,
        outcome: { status: "rejected", reason: error.message },
        ms: elapsed(),
      });
      return;
    }
    const { attempts, retryDelay: base, maxRetryDelay } = ctx.config.jobs;
    const last = job.attempts >= attempts;
    if (!last || !step?.exhausted) {
      const wait = retryDelay(job.attempts, {
        retryDelayMs: base * 1000,
        maxRetryDelayMs: maxRetryDelay * 1000,
      });
      const detail = last
        ? `gave up after ${job.attempts} attempts: ${message(error)}`
        : `attempt ${job.attempts} of ${attempts} failed, next in ${Math.ceil(wait / 1000)} s: ${message(error)}`;
      await updateCheck(ctx.db, {
        uploadId: row.id,
        step: name,
        patch: { status: last ? "error" : "retrying", ms: elapsed(), detail, finished_at: Date.now() },
      });
      throw error;
    }
    outcome = await step.exhausted(ctx, row, error);
  }
  await settle(ctx, { row, checks, check, outcome, ms: elapsed() });
}
