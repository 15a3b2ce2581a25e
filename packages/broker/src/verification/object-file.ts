// Streams an object from storage to a temporary file for the image steps
// (libvips reads files far better than streams), removed afterwards.
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { BrokerContext } from "../context.ts";
import { isNotFound } from "../storage/s3.ts";

/**
 * Runs `use` with the object downloaded to `file` (and `dir` for outputs);
 * `gone` instead when the object is not in storage. The directory is removed after.
 */
export async function withObjectFile<T>(
  ctx: BrokerContext,
  key: string,
  use: (paths: { file: string; dir: string }) => Promise<T>,
): Promise<T | "gone"> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-object-"));
  try {
    let body: Readable;
    try {
      const object = await ctx.s3.send(new GetObjectCommand({ Bucket: ctx.target.bucket, Key: key }));
      body = object.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) return "gone";
      throw error;
    }
    const file = join(dir, "original");
    await pipeline(body, createWriteStream(file));
    return await use({ file, dir });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
