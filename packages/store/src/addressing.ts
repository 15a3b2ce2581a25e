import { s3Error } from "./errors.ts";

/** S3 limits keys to 1024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw s3Error("InvalidURI");
  }
}

/**
 * Bucket and key of a request: virtual-hosted style when the Host is
 * `<bucket>.<suffix>` (suffix from options, "localhost" by default), else
 * path style `/<bucket>/<key>`. The key is everything after the bucket's
 * slash, decoded once and kept verbatim (`..`, `//`, a leading `/`): it is
 * only ever a database value, never a file name.
 */
export function resolveAddress(options: {
  host: string | undefined;
  rawPath: string;
  suffixes: readonly string[];
}): {
  bucket?: string;
  key?: string;
} {
  const hostname = (options.host ?? "").replace(/:\d+$/, "").toLowerCase();
  const suffix = options.suffixes.find((name) => hostname.endsWith(`.${name}`));
  let bucket: string | undefined;
  let keyPath: string;
  if (suffix) {
    bucket = hostname.slice(0, -(suffix.length + 1));
    keyPath = options.rawPath.slice(1);
  } else {
    const rest = options.rawPath.slice(1);
    const slash = rest.indexOf("/");
    const bucketPart = slash < 0 ? rest : rest.slice(0, slash);
    if (bucketPart !== "") bucket = decode(bucketPart);
    keyPath = slash < 0 ? "" : rest.slice(slash + 1);
  }
  if (keyPath === "") return bucket === undefined ? {} : { bucket };
  const key = decode(keyPath);
  assertValidKey(key);
  return { ...(bucket === undefined ? {} : { bucket }), key };
}

/** A key is any UTF-8 up to 1024 bytes, except NUL (which no file system or database keeps faithfully). */
export function assertValidKey(key: string): void {
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) throw s3Error("KeyTooLongError");
  if (key.includes("\0")) throw s3Error("InvalidArgument", "Object key must not contain a NUL character.");
}

/** S3's bucket naming rules (3-63 characters, lower-case letters, digits, dots, hyphens). */
export function assertValidBucketName(name: string): void {
  const valid =
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes("..") &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name);
  if (!valid) throw s3Error("InvalidBucketName");
}
