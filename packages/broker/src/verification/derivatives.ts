// The derivatives job, queued by verification once the checks passed: stream
// the original from storage to a temporary file, render each preset of the
// profile with sharp, store and record them, then the file is ready. An image
// that does not decode is rejected with the reason. A crash only delays the
// job (leased row); a re-run overwrites the same keys and rows.
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { BrokerContext } from "../context.ts";
import { auditUpload } from "../db/audit.ts";
import { deleteDerivatives, listDerivatives, putDerivative } from "../db/derivatives.ts";
import { enqueueJob } from "../db/jobs.ts";
import type { UploadRow } from "../db/schema.ts";
import { getUpload, updateUpload } from "../db/uploads.ts";
import { deleteUnder, rejectUpload } from "../uploads/complete.ts";
import { getQuarantined } from "../uploads/quarantine.ts";
import { derivativeKey, derivativesFor, derivativesPrefix } from "./derivable.ts";
import { renderDerivatives } from "./images.ts";
import { markReady } from "./ready.ts";

export const DERIVE_JOB = "derive";

/** Records what sniffing found and queues the derivatives job (the upload stays `uploaded`). */
export async function queueDerivatives(
  ctx: BrokerContext,
  options: { row: UploadRow; detected: string | null },
): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    await updateUpload(trx, options.row.id, { detected_type: options.detected });
    await enqueueJob(trx, { kind: DERIVE_JOB, uploadId: options.row.id });
  });
  ctx.kickWorker();
}

/** Streams the quarantined object, as checked, to `file`. */
async function download(ctx: BrokerContext, row: UploadRow, file: string): Promise<void> {
  const object = await getQuarantined(ctx, row);
  await pipeline(object.Body as Readable, createWriteStream(file));
}

/** Renders and stores the upload's derivatives; returns a rejection reason, or nothing when done. */
export async function makeDerivatives(ctx: BrokerContext, row: UploadRow): Promise<string | undefined> {
  const presets = derivativesFor(ctx, row);
  const dir = await mkdtemp(join(tmpdir(), "sluice-derive-"));
  try {
    const file = join(dir, "original");
    await download(ctx, row, file);
    const result = await renderDerivatives({ file, presets, maxPixels: ctx.config.images.maxPixels });
    if (!result.ok) return result.reason;
    for (const image of result.images) {
      const preset = presets.find(([name]) => name === image.name)![1];
      const key = derivativeKey(row.key, image.name, preset);
      await ctx.s3.send(
        new PutObjectCommand({
          Bucket: ctx.target.bucket,
          Key: key,
          Body: image.data,
          ContentType: image.type,
          ContentLength: image.data.length,
        }),
      );
      const { data, ...rest } = image;
      await putDerivative(ctx.db, {
        upload_id: row.id,
        key,
        ...rest,
        size: data.length,
        created_at: Date.now(),
      });
      await auditUpload(ctx.db, row, {
        action: "derivative.create",
        detail: {
          name: image.name,
          type: image.type,
          size: data.length,
          width: image.width,
          height: image.height,
        },
      });
    }
    return undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Job handler: derivatives, then ready; or rejected (object and any derivative removed). */
export async function deriveUpload(ctx: BrokerContext, uploadId: string): Promise<void> {
  const row = await getUpload(ctx.db, uploadId);
  if (row?.state !== "uploaded") return;
  const reason = await makeDerivatives(ctx, row);
  if (reason) {
    await removeDerivatives(ctx, row);
    await rejectUpload(ctx, { row, from: ["uploaded"], reason });
    return;
  }
  await markReady(ctx, row, row.detected_type);
}

/**
 * Deletes every object under the file's derivatives prefix (also ones a
 * crashed job stored but did not record), and their rows.
 */
export async function removeDerivatives(ctx: BrokerContext, row: UploadRow): Promise<void> {
  const recorded = await listDerivatives(ctx.db, [row.id]);
  if (recorded.length === 0 && derivativesFor(ctx, row).length === 0) return;
  await deleteUnder(ctx, derivativesPrefix(row.key));
  await deleteDerivatives(ctx.db, row.id);
}
