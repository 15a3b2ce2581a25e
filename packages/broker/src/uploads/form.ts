// Completion of a form upload (grants/post.ts formGrant): the browser chose
// the object's name, so the broker finds the one object under the upload's
// quarantine prefix, derives name, size and type itself (the redirect's
// query is only a signal), checks them against the profile, and records the
// file's key. Like every upload, the object stays in quarantine until
// verification promotes it (uploads/quarantine.ts).
import { HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { errors, type SluiceError } from "@sluice/core";
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";
import { transitionUpload } from "../db/uploads.ts";
import { keyName, normaliseName } from "../grants/name.ts";
import { typeAllowed } from "../grants/profile.ts";
import { isNotFound } from "../storage/s3.ts";
import { notUploaded, storageError } from "../storage/target.ts";
import { guessType } from "../verification/sniff.ts";
import { firstBytes } from "../verification/verify.ts";
import { ctxProfile } from "./profile.ts";
import { isQuarantineChange, uploadFolderOf } from "./quarantine.ts";
import { withinQuota } from "./quota.ts";

async function listIncoming(ctx: BrokerContext, prefix: string): Promise<string[]> {
  try {
    const page = await ctx.s3.send(
      new ListObjectsV2Command({ Bucket: ctx.target.bucket, Prefix: prefix, MaxKeys: 2 }),
    );
    return (page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
  } catch (error) {
    throw storageError(error);
  }
}

async function objectHead(ctx: BrokerContext, key: string): Promise<{ size: number; etag: string | null }> {
  try {
    const head = await ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.target.bucket, Key: key }));
    return { size: head.ContentLength ?? 0, etag: head.ETag ?? null };
  } catch (error) {
    if (isNotFound(error)) throw notUploaded();
    throw storageError(error);
  }
}

/** Why the stored file may not stay by its profile, or undefined. */
function refusal(ctx: BrokerContext, options: { row: UploadRow; size: number; type: string }) {
  const { row, size, type } = options;
  const profile = ctxProfile(ctx, row);
  if (size > profile.maxSize) return `size is ${size} bytes, this profile allows ${profile.maxSize}`;
  if (size < profile.minSize) return `size is ${size} bytes, this profile needs at least ${profile.minSize}`;
  if (!typeAllowed(type, profile.types)) return `type ${type} is not allowed by this profile`;
  return undefined;
}

/**
 * Finds the form's object and moves the pending upload to its final key with
 * the name, size and type taken from storage. 409 NotUploaded when nothing is
 * there yet; a problem (to reject with) when more than one object was posted
 * or the file breaks the profile.
 */
export async function resolveFormObject(
  ctx: BrokerContext,
  row: UploadRow,
): Promise<{ row: UploadRow } | { problem: string; found?: Pick<UploadRow, "name" | "size" | "type"> }> {
  const keys = await listIncoming(ctx, row.incoming_key);
  if (keys.length === 0) throw notUploaded();
  if (keys.length > 1) return { problem: "more than one file was posted with this form" };
  const source = keys[0]!;
  const { size, etag } = await objectHead(ctx, source);
  const name = normaliseName(source.slice(row.incoming_key.length));
  const bytes = await firstBytes(ctx, { incoming_key: source, etag }, size).catch((error) => {
    // Posted again between the HEAD and the read: the next completion sees the new one.
    throw isQuarantineChange(error) ? notUploaded() : error;
  });
  const type = await guessType({ bytes, name, truncated: size > bytes.length });
  const problem = refusal(ctx, { row, size, type });
  if (problem) return { problem, found: { name, size, type } };

  const key = `${uploadFolderOf(row)}/${keyName(name)}`;
  // The size is known only now: taken from the quota atomically with recording it.
  const owner = { tenant: row.tenant, user: row.user_id };
  const quota = { quotas: ctx.config.quotas, owner, size, pending: false };
  let moved: UploadRow | undefined;
  try {
    moved = await withinQuota(ctx.db, quota, (trx) =>
      transitionUpload(trx, {
        id: row.id,
        from: ["pending"],
        to: "pending",
        patch: { key, incoming_key: source, name, size, type },
      }),
    );
  } catch (error) {
    if ((error as SluiceError).code === "QuotaExceeded")
      return { problem: "storage quota exceeded", found: { name, size, type } };
    throw error;
  }
  if (!moved) throw errors.conflict("Upload is no longer pending", "UploadNotPending");
  return { row: moved };
}
