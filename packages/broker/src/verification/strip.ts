// The strip step (profiles with `stripMetadata: true`): the quarantined image,
// as checked, re-encoded without EXIF/XMP/IPTC, orientation applied, replaces
// the quarantined object (never the file's key: promotion copies it there);
// the file's size, SHA-256 and ETag become the cleaned file's, so the steps
// after it and the promotion read exactly these bytes, and the change is audited. Images the step cannot re-encode (HEIC,
// SVG, over `images.maxPixels`, corrupt) are rejected rather than served with
// their metadata. Files that are not images pass untouched.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { auditUpload } from "../db/audit.ts";
import { updateUpload } from "../db/uploads.ts";
import { encryptionParams } from "../grants/encryption.ts";
import { ctxProfile } from "../uploads/profile.ts";
import { isStrippable, stripImage } from "./images.ts";
import { withObjectFile } from "./object-file.ts";
import type { PipelineStep } from "./step.ts";

async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export const stripStep: PipelineStep = {
  name: "strip",
  enabled: (ctx, row) => ctxProfile(ctx, row).stripMetadata,
  async run(ctx, row) {
    const type = row.detected_type ?? row.type;
    if (!type.toLowerCase().startsWith("image/"))
      return { status: "skipped", detail: `${type} is not an image` };
    if (!isStrippable(type))
      return {
        status: "rejected",
        reason: `metadata cannot be removed from ${type} images (JPEG, PNG, WebP, GIF, AVIF and TIFF can)`,
      };
    return withObjectFile(ctx, row, async ({ file, dir }) => {
      const output = join(dir, "stripped");
      const result = await stripImage({
        input: file,
        output,
        type,
        maxPixels: ctx.config.images.maxPixels,
        quality: ctx.config.images.stripQuality,
      });
      if (!result.ok) return { status: "rejected", reason: result.reason } as const;
      const size = (await stat(output)).size;
      const sha256 = await fileSha256(output);
      const put = await ctx.s3.send(
        new PutObjectCommand({
          Bucket: ctx.target.bucket,
          Key: row.incoming_key,
          Body: createReadStream(output),
          ContentLength: size,
          ContentType: row.type,
          // Storage checks the bytes and keeps their SHA-256, which promotion compares where ETags do not.
          ...(ctx.target.capabilities.checksums
            ? { ChecksumSHA256: Buffer.from(sha256, "hex").toString("base64") }
            : {}),
          ...encryptionParams(ctxProfile(ctx, row)),
        }),
      );
      await updateUpload(ctx.db, row.id, { size, sha256, etag: put.ETag ?? null });
      const before = { size: row.size, sha256: row.sha256 };
      await auditUpload(ctx.db, row, {
        action: "upload.strip",
        detail: { removed: result.removed, orientation: result.orientation, before, after: { size, sha256 } },
      });
      const found = result.removed.length > 0 ? `removed ${result.removed.join(", ")}` : "no metadata found";
      const turned = result.orientation !== 1 ? `, orientation ${result.orientation} applied` : "";
      const frames = result.pages > 1 ? `, ${result.pages} frames kept` : "";
      return {
        status: "passed",
        detail: `${found}${turned}${frames}; re-encoded ${row.size} → ${size} bytes, sha256 ${sha256}`,
      } as const;
    });
  },
};
