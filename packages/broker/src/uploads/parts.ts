// Multipart coordination: lazily signed part URLs, the stored parts (resume),
// and completion that checks the client's ETags against ListParts.
import { CompleteMultipartUploadCommand, ListPartsCommand, type Part } from "@aws-sdk/client-s3";
import { errors, SluiceError } from "@sluice/core";
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";
import { type PartGrant, partGrants, partLength } from "../grants/multipart.ts";
import { isNotFound } from "../storage/s3.ts";
import { storageError } from "../storage/target.ts";
import { ctxProfile } from "./profile.ts";

export const MAX_PARTS_PER_BATCH = 1000;

function requireOpenMultipart(row: UploadRow): { multipartId: string; partSize: number; partCount: number } {
  if (row.method !== "multipart" || !row.multipart_id || !row.part_size || !row.part_count) {
    throw errors.conflict("Not a multipart upload", "NotMultipart");
  }
  if (row.state !== "pending") throw errors.conflict(`Upload is ${row.state}`, "UploadNotPending");
  return { multipartId: row.multipart_id, partSize: row.part_size, partCount: row.part_count };
}

export function signParts(ctx: BrokerContext, row: UploadRow, partNumbers: number[]): PartGrant[] {
  const open = requireOpenMultipart(row);
  if (row.expires_at < Date.now()) throw errors.conflict("Upload expired", "UploadExpired");
  const expiresIn = ctxProfile(ctx, row).grantExpiry;
  return partGrants(ctx.target, { key: row.incoming_key, size: row.size, expiresIn, ...open }, partNumbers);
}

export async function listStoredParts(ctx: BrokerContext, row: UploadRow): Promise<Part[]> {
  const { multipartId } = requireOpenMultipart(row);
  const parts: Part[] = [];
  let marker: string | undefined;
  try {
    do {
      const page = await ctx.s3.send(
        new ListPartsCommand({
          Bucket: ctx.target.bucket,
          Key: row.incoming_key,
          UploadId: multipartId,
          PartNumberMarker: marker,
        }),
      );
      parts.push(...(page.Parts ?? []));
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
  } catch (error) {
    if (isNotFound(error)) throw multipartGone();
    throw storageError(error);
  }
  return parts;
}

/** Storage no longer has the multipart upload: completed (the caller may check the object) or aborted. */
export const multipartGone = () =>
  errors.conflict("Storage no longer holds this multipart upload; upload again", "MultipartUploadGone");

const unquote = (etag: string | undefined) => (etag ?? "").replace(/^W\//, "").replace(/"/g, "");

/**
 * True for what storage answers a multipart upload it already completed (or
 * that another completion is finishing right now): the upload is gone
 * (NoSuchUpload), or the write-once completion found the object in place (412).
 */
function alreadyCompleted(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return isNotFound(error) || status === 412 || (error as Error)?.name === "PreconditionFailed";
}

/**
 * Every part present with its exact length and the ETag the client saw, then
 * CompleteMultipartUpload. "gone" when storage no longer has the multipart
 * upload: it may have completed it (a crash before the broker recorded it, or
 * a concurrent completion), which the caller checks on the object itself.
 */
export async function completeMultipart(
  ctx: BrokerContext,
  row: UploadRow,
  clientParts: Array<{ partNumber: number; etag: string }> | undefined,
): Promise<"completed" | "gone"> {
  const { multipartId, partSize, partCount } = requireOpenMultipart(row);
  let listed: Part[];
  try {
    listed = await listStoredParts(ctx, row);
  } catch (error) {
    if (error instanceof SluiceError && error.code === "MultipartUploadGone") return "gone";
    throw error;
  }
  const stored = new Map(listed.map((p) => [p.PartNumber, p]));
  const plan = { size: row.size, partSize, partCount };
  const claimed = new Map((clientParts ?? []).map((p) => [p.partNumber, unquote(p.etag)]));
  const completed: Array<{ PartNumber: number; ETag: string }> = [];
  for (let n = 1; n <= partCount; n++) {
    const part = stored.get(n);
    if (!part) throw errors.conflict(`Part ${n} of ${partCount} has not been uploaded`, "PartsMissing");
    if (part.Size !== undefined && part.Size !== partLength(plan, n)) {
      throw errors.unprocessable(`Part ${n} has the wrong size`, "PartSizeMismatch");
    }
    const claim = claimed.get(n);
    if (clientParts && claim !== unquote(part.ETag)) {
      throw errors.unprocessable(`Part ${n} does not match the stored part`, "PartETagMismatch");
    }
    completed.push({ PartNumber: n, ETag: part.ETag! });
  }
  try {
    await ctx.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: ctx.target.bucket,
        Key: row.incoming_key,
        UploadId: multipartId,
        MultipartUpload: { Parts: completed },
        ...(ctx.target.capabilities.conditionalWrites ? { IfNoneMatch: "*" } : {}),
      }),
    );
    return "completed";
  } catch (error) {
    if (alreadyCompleted(error)) return "gone";
    throw storageError(error);
  }
}
