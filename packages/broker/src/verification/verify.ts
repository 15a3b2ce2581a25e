// One verification job: declared SHA-256 (where storage could not check it),
// magic bytes against the declared type, then the configured scanners; the
// upload becomes ready (after image derivatives, a job of their own), or
// rejected with the first failing check's reason.
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { BrokerContext } from "../context.ts";
import { getUpload } from "../db/uploads.ts";
import { isNotFound } from "../storage/s3.ts";
import { rejectUpload } from "../uploads/complete.ts";
import { ctxProfile } from "../uploads/profile.ts";
import { derivativesFor } from "./derivable.ts";
import { queueDerivatives } from "./derivatives.ts";
import { needsDigest, objectSha256 } from "./digest.ts";
import { markReady } from "./ready.ts";
import { runScanners } from "./scanners.ts";
import { SNIFF_BYTES, sniff } from "./sniff.ts";

export async function firstBytes(
  ctx: BrokerContext,
  key: string,
  size: number,
): Promise<Uint8Array | undefined> {
  if (size === 0) return new Uint8Array(0);
  try {
    const object = await ctx.s3.send(
      new GetObjectCommand({
        Bucket: ctx.target.bucket,
        Key: key,
        Range: `bytes=0-${Math.min(size, SNIFF_BYTES) - 1}`,
      }),
    );
    return await object.Body!.transformToByteArray();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function verifyUpload(ctx: BrokerContext, uploadId: string): Promise<void> {
  const row = await getUpload(ctx.db, uploadId);
  if (row?.state !== "uploaded") return;
  const bytes = await firstBytes(ctx, row.key, row.size);
  if (!bytes) {
    await rejectUpload(ctx, { row, from: ["uploaded"], reason: "object disappeared from storage" });
    return;
  }
  if (needsDigest(ctx, row) && (await objectSha256(ctx, row.key)) !== row.sha256) {
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
