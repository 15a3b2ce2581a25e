// Quarantine, one rule for every method: a grant (PUT URL, POST policy,
// multipart part URLs, form policy) can only write under its upload's
// `{folder}/incoming/` prefix, never the key downloads are served from. Only
// the broker's promotion, after every check (verification/promote.ts), writes
// the file's key. A grant used again later writes into quarantine only: the
// storage event of such a stray deletes it (events/process.ts), the sweeper
// removes what is left (uploads/sweeper.ts).
//
// Between completion and promotion the quarantined object could still be
// rewritten by its grant (a POST policy cannot be write-once): completion
// records its ETag, and every read of verification and the promotion copy are
// conditional on it (If-Match), so the file promoted is byte for byte the one
// checked, or the upload is rejected.
import { GetObjectCommand, type GetObjectCommandOutput } from "@aws-sdk/client-s3";
import { errors, SluiceError } from "@sluice/core";
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";
import { getUpload } from "../db/uploads.ts";
import { isNotFound } from "../storage/s3.ts";
import { storageError } from "../storage/target.ts";

const INCOMING = "/incoming/";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The prefix grants of the upload folder `[keyPrefix/]tenant/user/id` may write under. */
export function incomingPrefix(folder: string): string {
  return `${folder}${INCOMING}`;
}

/** The quarantine key a grant for `name` (as in keys) writes, in the upload folder. */
export function quarantineKey(folder: string, name: string): string {
  return `${incomingPrefix(folder)}${name}`;
}

/** The upload's folder `[keyPrefix/]tenant/user/id` (its id appears there first). */
export function uploadFolderOf(row: Pick<UploadRow, "id" | "key">): string {
  const at = row.key.indexOf(`/${row.id}/`);
  return row.key.slice(0, at + row.id.length + 1);
}

/** The quarantine prefix of an upload, whatever its method and state. */
export function incomingPrefixOf(row: Pick<UploadRow, "id" | "key">): string {
  return incomingPrefix(uploadFolderOf(row));
}

/** A form upload whose object has not been found yet: its keys are still the grant's prefix. */
export function isUnresolved(row: UploadRow): boolean {
  return row.method === "form" && row.incoming_key.endsWith(INCOMING);
}

/**
 * The upload whose quarantine holds `key`, if `key` is under one: the upload id
 * is the folder's last segment, and the whole prefix must be that upload's.
 */
export async function quarantineOwner(ctx: BrokerContext, key: string): Promise<UploadRow | undefined> {
  for (let at = key.indexOf(INCOMING); at > 0; at = key.indexOf(INCOMING, at + 1)) {
    const folder = key.slice(0, at);
    const id = folder.slice(folder.lastIndexOf("/") + 1);
    if (!UUID.test(id)) continue;
    const row = await getUpload(ctx.db, id);
    if (row && incomingPrefixOf(row) === `${folder}${INCOMING}`) return row;
  }
  return undefined;
}

/** Whether a quarantined object must stay: its upload may still complete, or is being verified from it. */
export function quarantineKept(row: UploadRow, key: string, multipartId?: string): boolean {
  if (multipartId !== undefined) return row.state === "pending" && row.multipart_id === multipartId;
  if (row.state === "pending") return true;
  return row.state === "uploaded" && key === row.incoming_key;
}

export const QUARANTINE_CHANGED = "QuarantineChanged";

/** The quarantined object was rewritten or removed after completion recorded it. */
export function quarantineChanged(): SluiceError {
  return errors.conflict("The uploaded object changed or disappeared after completion", QUARANTINE_CHANGED);
}

export function preconditionFailed(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "PreconditionFailed" || e.$metadata?.httpStatusCode === 412;
}

/**
 * Reads the quarantined object (or a byte range of it) exactly as completion
 * recorded it: If-Match its ETag. Throws quarantineChanged() when it is not.
 */
export async function getQuarantined(
  ctx: BrokerContext,
  row: Pick<UploadRow, "incoming_key" | "etag">,
  range?: { start: number; end: number },
): Promise<GetObjectCommandOutput> {
  try {
    return await ctx.s3.send(
      new GetObjectCommand({
        Bucket: ctx.target.bucket,
        Key: row.incoming_key,
        ...(row.etag ? { IfMatch: row.etag } : {}),
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }),
    );
  } catch (error) {
    if (isNotFound(error) || preconditionFailed(error)) throw quarantineChanged();
    throw storageError(error);
  }
}

export function isQuarantineChange(error: unknown): boolean {
  return error instanceof SluiceError && error.code === QUARANTINE_CHANGED;
}
