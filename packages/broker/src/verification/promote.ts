// Promotion, the last step of the pipeline: the quarantined object, exactly
// as checked (x-amz-copy-source-if-match its recorded ETag, and the copy
// checked again after it, see verifyCopy), is copied by storage itself to the
// file's key: CopyObject up to 5 GiB, UploadPartCopy above (S3's limit for one
// copy). The embedded store shares the blob (no byte is written); AWS S3 and
// RGW copy inside the cluster. The broker never sees the bytes. The
// quarantined copy is deleted once the file is ready (verification/ready.ts).
// Metadata stripping, before it, rewrites the quarantined object and records
// its new size, SHA-256 and ETag, which the copy then expects.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
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

/** What promotion needs of the broker: storage and the upload profiles. */
type Storage = Pick<BrokerContext, "s3" | "target" | "config">;
type Promoted = Pick<
  UploadRow,
  "id" | "key" | "incoming_key" | "etag" | "size" | "type" | "profile" | "sha256"
>;

function copySource(ctx: Storage, key: string): string {
  return `${ctx.target.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

const unquote = (etag: string | undefined) => (etag ?? "").replace(/^W\//, "").replace(/"/g, "");

/**
 * Whether the object just copied to the file's key is the one checked. Storage
 * that ignores x-amz-copy-source-if-match (Ceph RGW 16) copies whatever the
 * quarantine holds now, so the copy is checked after the fact too:
 * - the same ETag as recorded: the same bytes (RGW and the embedded store keep
 *   a single-part object's ETag, the MD5 of its bytes, in a copy);
 * - a different one where ETags are comparable (both single-part, not
 *   SSE-KMS): something else was copied;
 * - otherwise the ETags say nothing (SSE-KMS: AWS gives every encrypted object
 *   its own, a copy included; a multipart "md5-N" ETag is not that of a whole
 *   copy; a copy in parts has none to compare): the copy must have the
 *   recorded size and the SHA-256 the upload carried (when storage kept one:
 *   HEAD with checksum mode), and the quarantined object must still carry the
 *   recorded ETag after the copy (HEAD If-Match): replacing it at any time
 *   before gave it another ETag. AWS, which changes ETags under SSE-KMS, also
 *   honours copy-source-if-match, which refuses such a copy in the first place.
 */
async function verifyCopy(ctx: Storage, row: Promoted, copiedEtag: string | undefined) {
  if (row.etag === null || unquote(copiedEtag) === unquote(row.etag)) return true;
  const md5s = !!copiedEtag && ![row.etag, copiedEtag].some((etag) => etag.includes("-"));
  const comparable = md5s && ctxProfile(ctx, row).encryption !== "aws:kms";
  if (comparable) return false;
  const bucket = ctx.target.bucket;
  const [copy, source] = await Promise.all([
    ctx.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row.key, ChecksumMode: "ENABLED" })),
    ctx.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row.incoming_key, IfMatch: row.etag })).then(
      () => true,
      (error: unknown) => {
        if (isNotFound(error) || preconditionFailed(error)) return false;
        throw error;
      },
    ),
  ]);
  if (!source || copy.ContentLength !== row.size) return false;
  const checksum = copy.ChecksumSHA256;
  const whole = checksum !== undefined && !checksum.includes("-"); // not a composite of parts
  return !(whole && row.sha256 && checksum !== Buffer.from(row.sha256, "hex").toString("base64"));
}

async function copyWhole(ctx: Storage, row: Promoted): Promise<string | undefined> {
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
  return copied.CopyObjectResult?.ETag;
}

async function copyInParts(ctx: Storage, row: Promoted, partSize: number): Promise<void> {
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
  ctx: Storage,
  row: Promoted,
  limits: { singleCopyLimit?: number; partSize?: number } = {},
): Promise<void> {
  // Uploads granted before quarantine existed wrote their key directly.
  if (row.incoming_key === row.key) return;
  const singleCopyLimit = limits.singleCopyLimit ?? MAX_SINGLE_UPLOAD;
  try {
    // A copy in parts gets an ETag of its own parts: nothing to compare.
    const etag =
      row.size <= singleCopyLimit
        ? await copyWhole(ctx, row)
        : await copyInParts(ctx, row, limits.partSize ?? MAX_PART_SIZE).then(() => undefined);
    if (!(await verifyCopy(ctx, row, etag))) {
      await ctx.s3.send(new DeleteObjectCommand({ Bucket: ctx.target.bucket, Key: row.key }));
      throw quarantineChanged();
    }
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
