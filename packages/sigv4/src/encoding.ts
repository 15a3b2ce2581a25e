import { createHash, createHmac } from "node:crypto";

/**
 * RFC 3986 percent-encoding as SigV4 defines it: every byte except the
 * unreserved characters, with upper-case hex. `encodeURIComponent` alone is
 * not enough: it leaves `!'()*` alone, which S3 encodes.
 */
export function uriEncode(value: string, keepSlash = false): string {
  const encoded = encodeURIComponent(value.toWellFormed()).replace(/[!'()*]/g, escapeReserved);
  return keepSlash ? encoded.replaceAll("%2F", "/") : encoded;
}

function escapeReserved(char: string): string {
  return `%${char.charCodeAt(0).toString(16).toUpperCase()}`;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export function hmacSha256(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

/** `20261124T125800Z` and `20261124` from one instant. */
export function amzDate(now: Date): { dateTime: string; date: string } {
  const dateTime = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  return { dateTime, date: dateTime.slice(0, 8) };
}
