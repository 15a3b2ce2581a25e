// The first pipeline steps: the declared SHA-256 where storage could not check
// it (a whole-object digest), then the magic bytes against the declared type.
// Both read the quarantined object exactly as completion recorded it.
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";
import { updateUpload } from "../db/uploads.ts";
import { ctxProfile } from "../uploads/profile.ts";
import { getQuarantined } from "../uploads/quarantine.ts";
import { needsDigest, objectSha256 } from "./digest.ts";
import { SNIFF_BYTES, sniff } from "./sniff.ts";
import type { PipelineStep } from "./step.ts";

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

export const checksumStep: PipelineStep = {
  name: "checksum",
  enabled: needsDigest,
  async run(ctx, row) {
    if ((await objectSha256(ctx, row)) !== row.sha256)
      return { status: "rejected", reason: "SHA-256 does not match the declared checksum" };
    return { status: "passed", detail: `SHA-256 of ${row.size} bytes matches` };
  },
};

export const sniffStep: PipelineStep = {
  name: "sniff",
  enabled: (ctx, row) => ctxProfile(ctx, row).verify,
  async run(ctx, row) {
    const bytes = await firstBytes(ctx, row, row.size);
    const result = await sniff({ bytes, declared: row.type, truncated: row.size > bytes.length });
    if (!result.ok) return { status: "rejected", reason: result.reason };
    await updateUpload(ctx.db, row.id, { detected_type: result.detected });
    return {
      status: "passed",
      detail: result.detected ? `content is ${result.detected}` : "no magic bytes (text or unknown)",
    };
  },
};
