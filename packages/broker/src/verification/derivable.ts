// Which derivatives an upload gets, and where they are stored: under the
// file's own key, `{key}~derivatives/{name}.{ext}`, one level below the
// broker's key shape, so the sweeper never takes them for strays and one
// prefix listing finds them all when the file goes.
import { ownValue } from "@sluice/core";
import type { DerivativePreset } from "../config/schema.ts";
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";
import { ctxProfile } from "../uploads/profile.ts";
import { FORMAT_TYPES, isDecodableImage } from "./images.ts";

/** The presets of the upload's profile; none for types that are not decodable images. */
export function derivativesFor(ctx: BrokerContext, row: UploadRow): Array<[string, DerivativePreset]> {
  const names = ctxProfile(ctx, row).derivatives ?? [];
  if (names.length === 0 || !isDecodableImage(row.type)) return [];
  // A preset removed from the configuration since the grant is skipped.
  return names.flatMap((name) => {
    const preset = ownValue(ctx.config.derivatives, name);
    return preset ? [[name, preset] as [string, DerivativePreset]] : [];
  });
}

export function derivativesPrefix(fileKey: string): string {
  return `${fileKey}~derivatives/`;
}

export function derivativeKey(fileKey: string, name: string, preset: DerivativePreset): string {
  return `${derivativesPrefix(fileKey)}${name}.${FORMAT_TYPES[preset.format].ext}`;
}
