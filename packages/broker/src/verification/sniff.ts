// Compares what the first bytes of an object say it is (magic numbers, via
// file-type) with the type the client declared.
import { fileTypeFromBuffer, supportedMimeTypes } from "file-type";

/** Bytes read from the start of each object; enough for containers (zip, OOXML). */
export const SNIFF_BYTES = 64 * 1024;

export type SniffResult =
  | { ok: true; detected: string | null }
  | { ok: false; detected: string | null; reason: string };

const ZIP_BASED = new Set([
  "application/zip",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  "application/vnd.oasis.opendocument.text",
  "application/vnd.oasis.opendocument.spreadsheet",
  "application/vnd.oasis.opendocument.presentation",
  "application/epub+zip",
  "application/java-archive",
]);

/** Names browsers and tools use for the same format. */
const ALIASES: Record<string, string> = {
  "image/jpg": "image/jpeg",
  "image/pjpeg": "image/jpeg",
  "audio/mp3": "audio/mpeg",
  "audio/x-wav": "audio/wav",
  "audio/wave": "audio/wav",
  "application/x-zip-compressed": "application/zip",
  "application/x-pdf": "application/pdf",
  "video/x-m4v": "video/mp4",
  "text/xml": "application/xml",
};

const canonical = (type: string) => ALIASES[type] ?? type;

const TEXT_TYPES = new Set([
  "application/json",
  "application/xml",
  "application/javascript",
  "application/x-ndjson",
  "application/yaml",
  "application/csv",
  "application/sql",
]);

export function isTextType(type: string): boolean {
  return type.startsWith("text/") || TEXT_TYPES.has(type) || type.endsWith("+json") || type.endsWith("+xml");
}

/** Valid UTF-8 (a multi-byte character cut by the sample's end is fine) without NUL or stray controls. */
export function looksLikeText(bytes: Uint8Array, truncated: boolean): boolean {
  let sample = bytes;
  if (truncated) {
    // Drop a trailing partial UTF-8 sequence (at most 3 bytes).
    let cut = sample.length;
    for (let i = 1; i <= 3 && i <= sample.length; i++) {
      const b = sample[sample.length - i]!;
      if ((b & 0xc0) === 0xc0) {
        cut = sample.length - i;
        break;
      }
      if ((b & 0x80) === 0) break;
    }
    sample = sample.subarray(0, cut);
  }
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(sample);
  } catch {
    return false;
  }
  for (const b of sample) {
    if (b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b))
      return false;
  }
  return true;
}

function sameFormat(declared: string, detected: string): boolean {
  const a = canonical(declared);
  const b = canonical(detected);
  if (a === b) return true;
  // file-type reports the container for some zip-based formats from a short sample.
  return b === "application/zip" && ZIP_BASED.has(a);
}

export async function sniff(options: {
  bytes: Uint8Array;
  declared: string;
  truncated: boolean;
}): Promise<SniffResult> {
  const { bytes, declared } = options;
  const detected = (await fileTypeFromBuffer(bytes))?.mime ?? null;
  if (declared === "application/octet-stream") return { ok: true, detected };
  if (detected) {
    if (sameFormat(declared, detected)) return { ok: true, detected };
    return { ok: false, detected, reason: `content is ${detected}, declared ${declared}` };
  }
  if (isTextType(declared)) {
    return looksLikeText(bytes, options.truncated)
      ? { ok: true, detected: null }
      : { ok: false, detected: null, reason: `content is binary, declared ${declared}` };
  }
  if ((supportedMimeTypes as ReadonlySet<string>).has(canonical(declared))) {
    return { ok: false, detected: null, reason: `content is not ${declared}` };
  }
  // A type whose content we cannot recognise: accepted as declared.
  return { ok: true, detected: null };
}

/** Text formats recognised by extension once the bytes are known to be text (magic numbers cannot tell them apart). */
const TEXT_EXTENSIONS: Record<string, string> = {
  txt: "text/plain",
  csv: "text/csv",
  md: "text/markdown",
  html: "text/html",
  htm: "text/html",
  json: "application/json",
  xml: "application/xml",
  svg: "image/svg+xml",
};

/**
 * The type of a file nobody declared (a plain HTML form sends none): its magic
 * number; else, for text, the extension's text type or text/plain; else
 * application/octet-stream.
 */
export async function guessType(options: {
  bytes: Uint8Array;
  name: string;
  truncated: boolean;
}): Promise<string> {
  const detected = (await fileTypeFromBuffer(options.bytes))?.mime;
  if (detected) return detected;
  if (options.bytes.length === 0 || !looksLikeText(options.bytes, options.truncated))
    return "application/octet-stream";
  const extension = /\.([^.]+)$/.exec(options.name)?.[1]?.toLowerCase() ?? "";
  return TEXT_EXTENSIONS[extension] ?? "text/plain";
}
