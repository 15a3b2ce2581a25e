// The derivatives step: the quarantined original, as checked, streamed to a
// temporary file, each preset of the profile rendered with sharp, stored
// beside the file and recorded. An image that does not decode is rejected with
// the reason. A crash only delays the step (leased job); a re-run overwrites
// the same keys and rows.
import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { BrokerContext } from "../context.ts";
import { auditUpload } from "../db/audit.ts";
import { deleteDerivatives, listDerivatives, putDerivative } from "../db/derivatives.ts";
import type { UploadRow } from "../db/schema.ts";
import { deleteUnder } from "../uploads/complete.ts";
import { derivativeKey, derivativesFor, derivativesPrefix } from "./derivable.ts";
import { renderDerivatives } from "./images.ts";
import { withObjectFile } from "./object-file.ts";
import type { PipelineStep } from "./step.ts";

/** Renders and stores the upload's derivatives; returns a rejection reason, or nothing when done. */
export async function makeDerivatives(ctx: BrokerContext, row: UploadRow): Promise<string | undefined> {
  const presets = derivativesFor(ctx, row);
  return withObjectFile(ctx, row, async ({ file }) => {
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
  });
}

export const derivativesStep: PipelineStep = {
  name: "derivatives",
  enabled: (ctx, row) => derivativesFor(ctx, row).length > 0,
  async run(ctx, row) {
    const reason = await makeDerivatives(ctx, row);
    if (reason) return { status: "rejected", reason };
    const made = await listDerivatives(ctx.db, [row.id]);
    return {
      status: "passed",
      detail: made.map((d) => `${d.name} ${d.width}×${d.height} ${d.type}`).join(", "),
    };
  },
};

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
