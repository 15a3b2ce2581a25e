// Streams the quarantined object, as checked, to a temporary file for the
// image steps (libvips reads files far better than streams), removed afterwards.
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";
import { getQuarantined } from "../uploads/quarantine.ts";

/**
 * Runs `use` with the object downloaded to `file` (and `dir` for outputs);
 * the directory is removed after. Throws quarantineChanged() when the object
 * is no longer the one completion recorded.
 */
export async function withObjectFile<T>(
  ctx: BrokerContext,
  row: Pick<UploadRow, "incoming_key" | "etag">,
  use: (paths: { file: string; dir: string }) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-object-"));
  try {
    const object = await getQuarantined(ctx, row);
    const file = join(dir, "original");
    await pipeline(object.Body as Readable, createWriteStream(file));
    return await use({ file, dir });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
