// One verification job: declared SHA-256 (where storage could not check it),
// magic bytes against the declared type, then the configured scanners; the
// upload becomes ready (after image derivatives, a job of their own), or
// rejected with the first failing check's reason.
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";
import { getUpload } from "../db/uploads.ts";
import { rejectUpload } from "../uploads/complete.ts";
import { ctxProfile } from "../uploads/profile.ts";
import { getQuarantined } from "../uploads/quarantine.ts";
import { derivativesFor } from "./derivable.ts";
import { queueDerivatives } from "./derivatives.ts";
import { needsDigest, objectSha256 } from "./digest.ts";
import { markReady } from "./ready.ts";
import { runScanners } from "./scanners.ts";
import { SNIFF_BYTES, sniff } from "./sniff.ts";

/** The first bytes of the quarantined object, as completion recorded it (uploads/quarantine.ts). */
export async function firstBytes(
  ctx: BrokerContext,
  object: Pick<UploadRow, "incoming_key" | "etag">,
  size: number,
): Promise<Uint8Array> {
  if (size === 0) return new Uint8Array(0);
  const got = await getQuarantined(ctx, object, { start: 0, end: Math.min(size, SNIFF_BYTES) - 1 });
  return got.Body!.transformToByteArray();
}

export async function verifyUpload(ctx: BrokerContext, uploadId: string): Promise<void> {
  const row = await getUpload(ctx.db, uploadId);
  if (row?.state !== "uploaded") return;
  const bytes = await firstBytes(ctx, row, row.size);
  if (needsDigest(ctx, row) && (await objectSha256(ctx, row)) !== row.sha256) {
    await rejectUpload(ctx, {
      row,
      from: ["uploaded"],
      reason: "SHA-256 does not match the declared checksum",
    });
    return;
  }
  const result = ctxProfile(ctx, row).verify
    ? await sniff({ bytes, declared: row.type, truncated: row.size > bytes.length })
    : ({ ok: true, detected: null } as const);
  const reason = result.ok ? await runScanners(ctx, row) : result.reason;
  if (reason) {
    await rejectUpload(ctx, { row, from: ["uploaded"], reason });
    return;
  }
  if (derivativesFor(ctx, row).length > 0) {
    await queueDerivatives(ctx, { row, detected: result.detected });
    return;
  }
  await markReady(ctx, row, result.detected);
}
