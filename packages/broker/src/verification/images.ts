// Renders image derivatives with sharp (libvips). The input is a local file:
// sharp collects a stream input into one Buffer, while from a file libvips
// reads only what decoding needs. sharp is loaded on first use, so a broker
// without derivatives never loads the native library.
import type { DerivativePreset } from "../config/schema.ts";

type SharpModule = typeof import("sharp");

/** Raster formats the bundled libvips decodes; other image types get no derivatives. */
const DECODABLE = new Set([
  "image/png",
  "image/jpeg",
  "image/jpg",
  "image/pjpeg",
  "image/webp",
  "image/gif",
  "image/avif",
  "image/tiff",
]);

export function isDecodableImage(type: string): boolean {
  return DECODABLE.has(type.toLowerCase());
}

export const FORMAT_TYPES: Record<DerivativePreset["format"], { type: string; ext: string }> = {
  webp: { type: "image/webp", ext: "webp" },
  jpeg: { type: "image/jpeg", ext: "jpg" },
  png: { type: "image/png", ext: "png" },
  avif: { type: "image/avif", ext: "avif" },
};

export interface RenderedImage {
  name: string;
  data: Buffer;
  type: string;
  width: number;
  height: number;
}

export type RenderResult = { ok: true; images: RenderedImage[] } | { ok: false; reason: string };

let sharpModule: Promise<SharpModule["default"]> | undefined;
function loadSharp(): Promise<SharpModule["default"]> {
  sharpModule ??= import("sharp").then(({ default: sharp }) => {
    // Each image is seen once: an operation cache only holds memory (and open temp files).
    sharp.cache(false);
    return sharp;
  });
  return sharpModule;
}

function reasonFor(error: unknown, options: { file: string; maxPixels: number }): string {
  const message = (error as Error).message ?? String(error);
  if (/pixel limit/i.test(message)) return `image is larger than ${options.maxPixels} pixels`;
  // libvips names the file it read: keep the server's paths out of the reason.
  const detail = message.split("\n")[0]!.replaceAll(options.file, "image").slice(0, 200);
  return `image could not be decoded: ${detail}`;
}

/**
 * Decodes `file` once and renders every preset from it. A file libvips cannot
 * decode (corrupt, truncated, over `maxPixels`) gives a reason, not an error.
 */
export async function renderDerivatives(options: {
  file: string;
  presets: Array<[string, DerivativePreset]>;
  maxPixels: number;
}): Promise<RenderResult> {
  const sharp = await loadSharp();
  // failOn "warning" (sharp's default) also refuses truncated data that would decode as grey.
  const input = sharp(options.file, { limitInputPixels: options.maxPixels, failOn: "warning" });
  try {
    const images = await Promise.all(
      options.presets.map(async ([name, preset]) => {
        const { data, info } = await input
          .clone()
          .autoOrient()
          .resize({ width: preset.width, height: preset.height, fit: preset.fit })
          .toFormat(preset.format, { quality: preset.quality })
          .toBuffer({ resolveWithObject: true });
        return { name, data, type: FORMAT_TYPES[preset.format].type, width: info.width, height: info.height };
      }),
    );
    return { ok: true, images };
  } catch (error) {
    return { ok: false, reason: reasonFor(error, options) };
  }
}
