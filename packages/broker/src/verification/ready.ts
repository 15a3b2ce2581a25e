// The last step of verification: uploaded → ready, audited and counted once.
import type { BrokerContext } from "../context.ts";
import { auditUpload } from "../db/audit.ts";
import type { UploadRow } from "../db/schema.ts";
import { transitionWithEvent } from "../uploads/outbox.ts";

export async function markReady(ctx: BrokerContext, row: UploadRow, detected: string | null): Promise<void> {
  const ready = await transitionWithEvent(ctx, {
    event: "file.ready",
    id: row.id,
    from: ["uploaded"],
    to: "ready",
    patch: { detected_type: detected },
  });
  if (ready) {
    await auditUpload(ctx.db, row, { action: "upload.ready", detail: { detected } });
    ctx.metrics.inc("sluice_uploads_ready_total", {}, "Uploads verified and ready");
  }
}
