// Whole-object SHA-256, streamed from storage (never held in memory). Used when
// storage itself did not verify the declared checksum: stores without
// checksum support, and multipart uploads (parts are signed by length only).
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";

export function needsDigest(ctx: BrokerContext, row: UploadRow): boolean {
  return row.sha256 !== null && (row.method === "multipart" || !ctx.target.capabilities.checksums);
}

export async function objectSha256(ctx: BrokerContext, key: string): Promise<string> {
  const object = await ctx.s3.send(new GetObjectCommand({ Bucket: ctx.target.bucket, Key: key }));
  const hash = createHash("sha256");
  for await (const chunk of object.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
