// What a pipeline step is: a named check that a profile turns on, run as one
// durable job of its own (retried with backoff while it throws), whose outcome
// and timing the file record shows under `checks`.
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";

export type StepOutcome =
  /** The file goes on to the next step (detail: what the step found or changed). */
  | { status: "passed" | "skipped"; detail?: string }
  /** The file is rejected with `reason` (shown to its owner) and removed. */
  | { status: "rejected"; reason: string; detail?: string };

export interface PipelineStep {
  /** Shown as `checks[].step`; also the job kind `step:{name}`. */
  name: string;
  /** Whether the upload's profile runs this step; decided once, when the upload completes. */
  enabled(ctx: BrokerContext, row: UploadRow): boolean;
  /**
   * One attempt, on the upload as it now stands (earlier steps may have
   * changed its detected type, size or checksum). Throw to retry later: the
   * file stays `uploaded`.
   */
  run(ctx: BrokerContext, row: UploadRow): Promise<StepOutcome>;
  /**
   * Decides after the last attempt threw. Without it the file stays
   * `uploaded` and the check shows `error` for an operator to look at.
   */
  exhausted?(ctx: BrokerContext, row: UploadRow, error: Error): Promise<StepOutcome>;
}
