// The end of the pipeline: uploaded → ready, audited and counted once.
import type { BrokerContext } from "../context.ts";
import { auditUpload } from "../db/audit.ts";
import type { UploadRow } from "../db/schema.ts";
import { transitionUpload } from "../db/uploads.ts";

export async function markReady(ctx: BrokerContext, row: UploadRow): Promise<void> {
  const ready = await transitionUpload(ctx.db, { id: row.id, from: ["uploaded"], to: "ready" });
  if (ready) {
    await auditUpload(ctx.db, row, { action: "upload.ready", detail: { detected: row.detected_type } });
    ctx.metrics.inc("sluice_uploads_ready_total", {}, "Uploads verified and ready");
  }
}
