// The first pipeline steps: the declared SHA-256 where storage could not check
// it (a whole-object digest), then the magic bytes against the declared type.
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { BrokerContext } from "../context.ts";
import { updateUpload } from "../db/uploads.ts";
import { isNotFound } from "../storage/s3.ts";
import { ctxProfile } from "../uploads/profile.ts";
import { needsDigest, objectSha256 } from "./digest.ts";
import { SNIFF_BYTES, sniff } from "./sniff.ts";
import type { PipelineStep } from "./step.ts";

export const GONE = { status: "rejected", reason: "object disappeared from storage" } as const;

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

export const checksumStep: PipelineStep = {
  name: "checksum",
  enabled: needsDigest,
  async run(ctx, row) {
    let digest: string;
    try {
      digest = await objectSha256(ctx, row.key);
    } catch (error) {
      if (isNotFound(error)) return GONE;
      throw error;
    }
    if (digest !== row.sha256)
      return { status: "rejected", reason: "SHA-256 does not match the declared checksum" };
    return { status: "passed", detail: `SHA-256 of ${row.size} bytes matches` };
  },
};

export const sniffStep: PipelineStep = {
  name: "sniff",
  enabled: (ctx, row) => ctxProfile(ctx, row).verify,
  async run(ctx, row) {
    const bytes = await firstBytes(ctx, row.key, row.size);
    if (!bytes) return GONE;
    const result = await sniff({ bytes, declared: row.type, truncated: row.size > bytes.length });
    if (!result.ok) return { status: "rejected", reason: result.reason };
    await updateUpload(ctx.db, row.id, { detected_type: result.detected });
    return {
      status: "passed",
      detail: result.detected ? `content is ${result.detected}` : "no magic bytes (text or unknown)",
    };
  },
};
