// The end of the pipeline, after promotion (verification/promote.ts):
// uploaded → ready with its file.ready event, audited and counted once, then
// the quarantined copy goes.
import type { BrokerContext } from "../context.ts";
import { auditUpload } from "../db/audit.ts";
import type { UploadRow } from "../db/schema.ts";
import { getUpload } from "../db/uploads.ts";
import { deleteObject } from "../uploads/complete.ts";
import { transitionWithEvent } from "../uploads/outbox.ts";

export async function markReady(ctx: BrokerContext, row: UploadRow): Promise<void> {
  const ready = await transitionWithEvent(ctx, {
    event: "file.ready",
    id: row.id,
    from: ["uploaded"],
    to: "ready",
  });
  if (!ready) {
    // Deleted (or rejected) while being promoted: the copy just made belongs to nobody.
    if ((await getUpload(ctx.db, row.id))?.state !== "ready") await deleteObject(ctx, row.key);
    return;
  }
  if (row.incoming_key !== row.key) await deleteObject(ctx, row.incoming_key);
  const detected = row.detected_type;
  await auditUpload(ctx.db, row, { action: "upload.ready", detail: { detected } });
  ctx.metrics.inc("sluice_uploads_ready_total", {}, "Uploads verified and ready");
}
