// Promotion, the last step of the pipeline: the quarantined object, exactly
// as checked (x-amz-copy-source-if-match its recorded ETag, and the copy's ETag
// compared with it), is copied by
// storage itself to the file's key: CopyObject up to 5 GiB, UploadPartCopy
// above (S3's limit for one copy). The embedded store shares the blob (no
// byte is written); AWS S3 and RGW copy inside the cluster. The broker never
// sees the bytes. The quarantined copy is deleted once the file is ready
// (verification/ready.ts). Metadata stripping, before it, rewrites the
// quarantined object and records its new ETag, which the copy then expects.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";
import { encryptionParams } from "../grants/encryption.ts";
import { MAX_PART_SIZE, planParts } from "../grants/multipart.ts";
import { MAX_SINGLE_UPLOAD } from "../grants/profile.ts";
import { isNotFound } from "../storage/s3.ts";
import { storageError } from "../storage/target.ts";
import { ctxProfile } from "../uploads/profile.ts";
import { preconditionFailed, quarantineChanged } from "../uploads/quarantine.ts";
import type { PipelineStep } from "./step.ts";

type Promoted = Pick<UploadRow, "id" | "key" | "incoming_key" | "etag" | "size" | "type" | "profile">;

function copySource(ctx: BrokerContext, key: string): string {
  return `${ctx.target.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

const unquote = (etag: string | undefined) => (etag ?? "").replace(/^W\//, "").replace(/"/g, "");

async function copyWhole(ctx: BrokerContext, row: Promoted): Promise<void> {
  const copied = await ctx.s3.send(
    new CopyObjectCommand({
      Bucket: ctx.target.bucket,
      Key: row.key,
      CopySource: copySource(ctx, row.incoming_key),
      ...(row.etag ? { CopySourceIfMatch: row.etag } : {}),
      MetadataDirective: "REPLACE",
      ContentType: row.type,
      Metadata: { "upload-id": row.id },
      // A copy takes the encryption it is asked for (S3's rule): the file keeps its profile's.
      ...encryptionParams(ctxProfile(ctx, row)),
    }),
  );
  // Ceph RGW 16 ignores x-amz-copy-source-if-match: a single-part copy keeps the
  // source's ETag (its MD5), so a copy of anything else is caught here and undone.
  // (Only the broker writes multipart objects, completing them; no grant can rewrite one.)
  const single = row.etag !== null && !row.etag.includes("-");
  if (single && unquote(copied.CopyObjectResult?.ETag) !== unquote(row.etag!)) {
    await ctx.s3.send(new DeleteObjectCommand({ Bucket: ctx.target.bucket, Key: row.key }));
    throw quarantineChanged();
  }
}

async function copyInParts(ctx: BrokerContext, row: Promoted, partSize: number): Promise<void> {
  const bucket = ctx.target.bucket;
  const created = await ctx.s3.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: row.key,
      ContentType: row.type,
      Metadata: { "upload-id": row.id },
      ...encryptionParams(ctxProfile(ctx, row)),
    }),
  );
  const uploadId = created.UploadId!;
  try {
    const plan = planParts(row.size, partSize);
    const parts: Array<{ PartNumber: number; ETag: string }> = [];
    for (let n = 1; n <= plan.partCount; n++) {
      const start = (n - 1) * plan.partSize;
      const end = Math.min(row.size, start + plan.partSize) - 1;
      const copied = await ctx.s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: row.key,
          UploadId: uploadId,
          PartNumber: n,
          CopySource: copySource(ctx, row.incoming_key),
          CopySourceRange: `bytes=${start}-${end}`,
          ...(row.etag ? { CopySourceIfMatch: row.etag } : {}),
        }),
      );
      parts.push({ PartNumber: n, ETag: copied.CopyPartResult!.ETag! });
    }
    await ctx.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: row.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (error) {
    await ctx.s3
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: row.key, UploadId: uploadId }))
      .catch(() => undefined);
    throw error;
  }
}

/**
 * Copies the checked object from quarantine to the file's key. Throws
 * quarantineChanged() when the quarantined object is no longer the one
 * checked. Idempotent: a job re-run after a crash copies again.
 * `singleCopyLimit` and `partSize` are S3's limits; tests pass smaller ones.
 */
export async function promote(
  ctx: BrokerContext,
  row: Promoted,
  limits: { singleCopyLimit?: number; partSize?: number } = {},
): Promise<void> {
  // Uploads granted before quarantine existed wrote their key directly.
  if (row.incoming_key === row.key) return;
  const singleCopyLimit = limits.singleCopyLimit ?? MAX_SINGLE_UPLOAD;
  try {
    if (row.size <= singleCopyLimit) await copyWhole(ctx, row);
    else await copyInParts(ctx, row, limits.partSize ?? MAX_PART_SIZE);
  } catch (error) {
    if (isNotFound(error) || preconditionFailed(error)) throw quarantineChanged();
    throw storageError(error);
  }
}

/** The last object step of the pipeline; no other step writes the file's key. */
export const promoteStep: PipelineStep = {
  name: "promote",
  enabled: () => true,
  async run(ctx, row) {
    if (row.incoming_key === row.key)
      return { status: "skipped", detail: "written in place (granted before quarantine)" };
    await promote(ctx, row);
    return { status: "passed", detail: "copied out of quarantine by storage" };
  },
};
