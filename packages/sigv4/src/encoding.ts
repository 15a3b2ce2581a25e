import { createHash, createHmac } from "node:crypto";

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * RFC 3986 percent-encoding as SigV4 defines it: every byte except the
 * unreserved characters, with upper-case hex. `encodeURIComponent` is not
 * enough: it leaves `!'()*` alone, which S3 encodes.
 */
export function uriEncode(value: string, keepSlash = false): string {
  let out = "";
  for (const char of value) {
    if (UNRESERVED.test(char) || (keepSlash && char === "/")) out += char;
    else {
      for (const byte of Buffer.from(char, "utf8"))
        out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return out;
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
