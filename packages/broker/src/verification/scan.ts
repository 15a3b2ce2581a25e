// The scan step: the quarantined object, as checked, streamed from storage to clamd (profiles with
// `scan: true`), then the library users' own scanners. A file is never ready
// unscanned unless the configuration says so: clamd down or timing out retries
// the step with backoff (the file stays `uploaded`); once the retry budget is
// spent the file is rejected ("scan unavailable") unless the profile has
// `scanFailOpen: true`; a file over `scanning.maxSize` is rejected or, with
// `oversize: skip`, let through unscanned. Both let-throughs are audited.
import type { Readable } from "node:stream";
import { formatSize } from "../config/units.ts";
import type { BrokerContext } from "../context.ts";
import { auditUpload } from "../db/audit.ts";
import type { UploadRow } from "../db/schema.ts";
import { ctxProfile } from "../uploads/profile.ts";
import { getQuarantined } from "../uploads/quarantine.ts";
import { clamdScan } from "./clamd.ts";
import { runScanners } from "./scanners.ts";
import type { PipelineStep, StepOutcome } from "./step.ts";

async function unscanned(
  ctx: BrokerContext,
  row: UploadRow,
  why: { reason: string; detail: Record<string, unknown> },
): Promise<StepOutcome> {
  await auditUpload(ctx.db, row, { action: "scan.skip", detail: { reason: why.reason, ...why.detail } });
  ctx.metrics.inc("sluice_scans_total", { result: "skipped" }, "Malware scans by result");
  return { status: "skipped", detail: `not scanned: ${why.reason}` };
}

function oversize(ctx: BrokerContext, row: UploadRow, limit: string): Promise<StepOutcome> | StepOutcome {
  const reason = `larger than the scan limit (${limit})`;
  if (ctx.config.scanning.oversize === "skip")
    return unscanned(ctx, row, { reason, detail: { size: row.size, limit: ctx.config.scanning.maxSize } });
  ctx.metrics.inc("sluice_scans_total", { result: "oversize" }, "Malware scans by result");
  return { status: "rejected", reason: `file is ${reason}` };
}

/** clamd's verdict on the quarantined object. */
async function scanWithClamd(ctx: BrokerContext, row: UploadRow): Promise<StepOutcome> {
  const { clamd, maxSize, timeout } = ctx.config.scanning;
  if (row.size > maxSize) return oversize(ctx, row, formatSize(maxSize));
  const body = (await getQuarantined(ctx, row)).Body as Readable;
  const started = performance.now();
  try {
    const verdict = await clamdScan({ address: clamd!, body, timeoutMs: timeout * 1000 });
    ctx.metrics.inc("sluice_scans_total", { result: verdict.result }, "Malware scans by result");
    if (verdict.result === "too-large") return oversize(ctx, row, "clamd's StreamMaxLength");
    if (verdict.result === "infected")
      return { status: "rejected", reason: `malware found: ${verdict.signature}`, detail: verdict.signature };
  } finally {
    body.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  return { status: "passed", detail: `clean (${formatSize(row.size)} in ${seconds.toFixed(2)} s)` };
}

export const scanStep: PipelineStep = {
  name: "scan",
  enabled: (ctx, row) => ctxProfile(ctx, row).scan || ctx.scanners.length > 0,
  async run(ctx, row) {
    const clamd = ctxProfile(ctx, row).scan ? await scanWithClamd(ctx, row) : undefined;
    if (clamd && clamd.status === "rejected") return clamd;
    const reason = await runScanners(ctx, row);
    if (reason) return { status: "rejected", reason };
    return clamd ?? { status: "passed", detail: `${ctx.scanners.length} scanner(s) found nothing` };
  },
  async exhausted(ctx, row, error) {
    if (!ctxProfile(ctx, row).scanFailOpen) {
      ctx.metrics.inc("sluice_scans_total", { result: "unavailable" }, "Malware scans by result");
      return { status: "rejected", reason: "scan unavailable", detail: `scan unavailable: ${error.message}` };
    }
    return unscanned(ctx, row, {
      reason: "scan unavailable (scanFailOpen)",
      detail: { error: error.message },
    });
  },
};
