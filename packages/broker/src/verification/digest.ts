// Whole-object SHA-256, streamed from storage (never held in memory). Used when
// storage itself did not verify the declared checksum: stores without
// checksum support, and multipart uploads (parts are signed by length only).
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";
import { getQuarantined } from "../uploads/quarantine.ts";

export function needsDigest(ctx: BrokerContext, row: UploadRow): boolean {
  return row.sha256 !== null && (row.method === "multipart" || !ctx.target.capabilities.checksums);
}

export async function objectSha256(
  ctx: BrokerContext,
  row: Pick<UploadRow, "incoming_key" | "etag">,
): Promise<string> {
  const object = await getQuarantined(ctx, row);
  const hash = createHash("sha256");
  for await (const chunk of object.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
