// Completion of a form upload (grants/post.ts formGrant): the browser chose
// the object's name, so the broker finds the one object under the upload's
// `incoming/` prefix, derives name, size and type itself (the redirect's
// query is only a signal), checks them against the profile, and copies the
// object to the upload's normal key. The copy puts the file out of the
// grant's reach: the form may be posted again until it expires, but only
// ever under `incoming/`, never over a verified file.
import { CopyObjectCommand, HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { errors } from "@sluice/core";
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";
import { transitionUpload, usage } from "../db/uploads.ts";
import { encryptionParams } from "../grants/encryption.ts";
import { keyName, normaliseName } from "../grants/name.ts";
import { typeAllowed } from "../grants/profile.ts";
import { isNotFound } from "../storage/s3.ts";
import { notUploaded, storageError } from "../storage/target.ts";
import { guessType } from "../verification/sniff.ts";
import { firstBytes } from "../verification/verify.ts";
import { ctxProfile } from "./profile.ts";

const INCOMING = "/incoming/";

/** The prefix a form grant may write under, for the upload folder `[keyPrefix/]tenant/user/id`. */
export function formPrefix(folder: string): string {
  return `${folder}${INCOMING}`;
}

/** A form upload whose object has not been found yet: its key is still the grant's prefix. */
export function isUnresolved(row: UploadRow): boolean {
  return row.key.endsWith(INCOMING);
}

/** The grant prefix of a form upload, before or after its object was moved to the final key. */
export function incomingPrefix(row: UploadRow): string {
  return isUnresolved(row) ? row.key : formPrefix(row.key.slice(0, row.key.lastIndexOf("/")));
}

/** Grant prefixes an object key may belong to (a storage event names the object, not the upload). */
export function incomingPrefixesOf(key: string): string[] {
  const prefixes: string[] = [];
  for (let at = key.indexOf(INCOMING); at > 0; at = key.indexOf(INCOMING, at + 1)) {
    prefixes.push(key.slice(0, at + INCOMING.length));
  }
  return prefixes;
}

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

async function objectSize(ctx: BrokerContext, key: string): Promise<number> {
  try {
    const head = await ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.target.bucket, Key: key }));
    return head.ContentLength ?? 0;
  } catch (error) {
    if (isNotFound(error)) throw notUploaded();
    throw storageError(error);
  }
}

/** Why the stored file may not stay, or undefined. */
async function refusal(
  ctx: BrokerContext,
  options: { row: UploadRow; size: number; type: string },
): Promise<string | undefined> {
  const { row, size, type } = options;
  const profile = ctxProfile(ctx, row);
  if (size > profile.maxSize) return `size is ${size} bytes, this profile allows ${profile.maxSize}`;
  if (size < profile.minSize) return `size is ${size} bytes, this profile needs at least ${profile.minSize}`;
  if (!typeAllowed(type, profile.types)) return `type ${type} is not allowed by this profile`;
  const quota = ctx.config.quotas.maxBytesPerUser;
  if (quota !== undefined) {
    const used = await usage(ctx.db, { tenant: row.tenant, user: row.user_id });
    if (used.bytes + size > quota) return "storage quota exceeded";
  }
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
  const keys = await listIncoming(ctx, row.key);
  if (keys.length === 0) throw notUploaded();
  if (keys.length > 1) return { problem: "more than one file was posted with this form" };
  const source = keys[0]!;
  const size = await objectSize(ctx, source);
  const name = normaliseName(source.slice(row.key.length));
  const bytes = await firstBytes(ctx, source, size);
  if (!bytes) throw notUploaded();
  const type = await guessType({ bytes, name, truncated: size > bytes.length });
  const problem = await refusal(ctx, { row, size, type });
  if (problem) return { problem, found: { name, size, type } };

  const key = `${row.key.slice(0, -INCOMING.length)}/${keyName(name)}`;
  try {
    await ctx.s3.send(
      new CopyObjectCommand({
        Bucket: ctx.target.bucket,
        Key: key,
        CopySource: `${ctx.target.bucket}/${source.split("/").map(encodeURIComponent).join("/")}`,
        MetadataDirective: "REPLACE",
        ContentType: type,
        Metadata: { "upload-id": row.id },
        ...encryptionParams(ctxProfile(ctx, row)),
      }),
    );
  } catch (error) {
    if (isNotFound(error)) throw notUploaded();
    throw storageError(error);
  }
  const moved = await transitionUpload(ctx.db, {
    id: row.id,
    from: ["pending"],
    to: "pending",
    patch: { key, name, size, type },
  });
  if (!moved) throw errors.conflict("Upload is no longer pending", "UploadNotPending");
  return { row: moved };
}
