// Image work with sharp (libvips): derivatives, and re-encoding without
// metadata. The input is a local file: sharp collects a stream input into one
// Buffer, while from a file libvips reads only what decoding needs. sharp is
// loaded on first use, so a broker without image steps never loads it.
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

/** Output format per (sniffed) type for metadata stripping; the same format as the input. */
const STRIP_FORMATS: Record<string, "jpeg" | "png" | "webp" | "gif" | "avif" | "tiff"> = {
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/pjpeg": "jpeg",
  "image/png": "png",
  "image/webp": "webp",
  "image/gif": "gif",
  "image/avif": "avif",
  "image/tiff": "tiff",
};

export function isStrippable(type: string): boolean {
  return type.toLowerCase() in STRIP_FORMATS;
}

/** True when a TIFF-structured EXIF block's first IFD points to a GPS IFD (tag 0x8825). */
export function exifHasGps(exif: Buffer): boolean {
  // sharp hands the APP1 payload: "Exif\0\0" then the TIFF header.
  const base = exif.subarray(0, 6).toString("latin1") === "Exif\0\0" ? 6 : 0;
  if (exif.length < base + 8) return false;
  const little = exif.toString("latin1", base, base + 2) === "II";
  const u16 = (at: number) => (little ? exif.readUInt16LE(at) : exif.readUInt16BE(at));
  const u32 = (at: number) => (little ? exif.readUInt32LE(at) : exif.readUInt32BE(at));
  const ifd = base + u32(base + 4);
  if (ifd + 2 > exif.length) return false;
  const entries = u16(ifd);
  for (let i = 0; i < entries && ifd + 2 + i * 12 + 2 <= exif.length; i++) {
    if (u16(ifd + 2 + i * 12) === 0x8825) return true;
  }
  return false;
}

export type StripResult =
  | {
      ok: true;
      /** What was found and removed, e.g. ["EXIF (GPS)", "XMP"]. */
      removed: string[];
      /** The EXIF orientation applied to the pixels (1 when none). */
      orientation: number;
      pages: number;
      width: number;
      height: number;
    }
  | { ok: false; reason: string };

/**
 * Re-encodes `input` to `output` in the same format with no EXIF, XMP, IPTC
 * or text chunks: orientation is applied to the pixels first, the ICC colour
 * profile is kept (colours would shift without it). Animated GIF and WebP keep
 * every frame, their delays and loop count. Every image is re-encoded, even
 * one that looks clean, so no metadata block sharp does not report survives.
 */
export async function stripImage(options: {
  input: string;
  output: string;
  type: string;
  maxPixels: number;
  quality: number;
}): Promise<StripResult> {
  const format = STRIP_FORMATS[options.type.toLowerCase()];
  if (!format) return { ok: false, reason: `cannot remove metadata from ${options.type} images` };
  const sharp = await loadSharp();
  try {
    const meta = await sharp(options.input, { limitInputPixels: options.maxPixels }).metadata();
    const pages = meta.pages ?? 1;
    const removed = [
      ...(meta.exif ? [exifHasGps(meta.exif) ? "EXIF (GPS)" : "EXIF"] : []),
      ...(meta.xmp ? ["XMP"] : []),
      ...(meta.iptc ? ["IPTC"] : []),
      ...(meta.comments?.length ? ["text"] : []),
    ];
    let image = sharp(options.input, {
      limitInputPixels: options.maxPixels,
      failOn: "warning",
      animated: pages > 1,
    });
    // Frames of an animation are not rotated by libvips; animations carry no orientation in practice.
    if (pages === 1) image = image.autoOrient();
    const lossy = { quality: options.quality };
    image = image.keepIccProfile();
    const encoded =
      format === "jpeg"
        ? image.jpeg(lossy)
        : format === "webp"
          ? image.webp(lossy)
          : format === "avif"
            ? image.avif(lossy)
            : image.toFormat(format);
    const info = await encoded.toFile(options.output);
    return {
      ok: true,
      removed,
      orientation: pages === 1 ? (meta.orientation ?? 1) : 1,
      pages,
      width: info.width,
      height: info.height,
    };
  } catch (error) {
    return { ok: false, reason: reasonFor(error, { file: options.input, maxPixels: options.maxPixels }) };
  }
}
