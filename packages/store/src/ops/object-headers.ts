import { parseCannedAcl } from "../acl.ts";
import type { S3Request } from "../context.ts";
import { s3Error } from "../errors.ts";
import type { Checksums, ObjectRecord } from "../storage/catalog.ts";
import { requestedEncryption } from "./sse.ts";

const STORED = [
  "content-type",
  "content-disposition",
  "cache-control",
  "content-encoding",
  "content-language",
  "expires",
];
/** S3 limits user metadata to 2 KB. */
const MAX_METADATA_BYTES = 2048;

/** Representation headers and x-amz-meta-* to keep with an object, from a PUT/Copy/CreateMultipartUpload. */
export function storedHeaders(request: S3Request): Record<string, string> {
  const headers: Record<string, string> = {};
  let metadataBytes = 0;
  for (const name of Object.keys(request.raw.headers)) {
    const value = request.header(name);
    if (value === undefined) continue;
    if (name.startsWith("x-amz-meta-")) {
      metadataBytes += name.length - "x-amz-meta-".length + Buffer.byteLength(value);
      headers[name] = value;
    } else if (STORED.includes(name)) headers[name] = value;
    // The object's canned ACL (acl.ts) lives with the version; never sent back as a header.
    else if (name === "x-amz-acl") headers[name] = parseCannedAcl(value);
  }
  if (metadataBytes > MAX_METADATA_BYTES)
    throw s3Error("InvalidArgument", "Your metadata headers exceed the maximum allowed metadata size.");
  // aws-chunked is how the body travelled, not how the object is encoded: the rest is kept as sent.
  const encoding = headers["content-encoding"]
    ?.split(",")
    .filter((part) => part.trim() !== "" && part.trim().toLowerCase() !== "aws-chunked")
    .join(",")
    .trim();
  if (encoding) headers["content-encoding"] = encoding;
  else delete headers["content-encoding"];
  headers["content-type"] ??= "binary/octet-stream";
  return { ...headers, ...requestedEncryption((name) => request.header(name)) };
}

/** x-amz-checksum-* and x-amz-checksum-type: COMPOSITE for a multipart checksum of part checksums ("-N"), else FULL_OBJECT. */
export function checksumHeaders(checksums: Checksums): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [algorithm, value] of Object.entries(checksums)) {
    out[`x-amz-checksum-${algorithm}`] = value;
    out["x-amz-checksum-type"] = value.includes("-") ? "COMPOSITE" : "FULL_OBJECT";
  }
  return out;
}

const CHECKSUM_ELEMENTS: Record<keyof Checksums, string> = {
  crc32: "ChecksumCRC32",
  crc32c: "ChecksumCRC32C",
  crc64nvme: "ChecksumCRC64NVME",
  sha1: "ChecksumSHA1",
  sha256: "ChecksumSHA256",
};

/** Checksums as S3's XML elements (ChecksumCRC32 ...), for ListParts and GetObjectAttributes. */
export function checksumElements(checksums: Checksums): Record<string, string> {
  return Object.fromEntries(
    Object.entries(checksums).map(([algorithm, value]) => [
      CHECKSUM_ELEMENTS[algorithm as keyof Checksums],
      value,
    ]),
  );
}

/** Headers describing an object on GET/HEAD (before Range and response-* overrides). */
export function objectHeaders(record: ObjectRecord, request: S3Request): Record<string, string> {
  const { "x-amz-acl": _acl, ...stored } = record.headers;
  return {
    ...stored,
    etag: record.etag,
    "last-modified": new Date(record.modified).toUTCString(),
    "accept-ranges": "bytes",
    ...(request.header("x-amz-checksum-mode")?.toUpperCase() === "ENABLED"
      ? checksumHeaders(record.checksums)
      : {}),
    ...(record.parts === undefined ? {} : { "x-amz-mp-parts-count": String(record.parts) }),
  };
}

const OVERRIDES: Record<string, string> = {
  "response-content-type": "content-type",
  "response-content-disposition": "content-disposition",
  "response-cache-control": "cache-control",
  "response-content-encoding": "content-encoding",
  "response-content-language": "content-language",
  "response-expires": "expires",
};

/** response-* query overrides; S3 refuses them on anonymous requests. */
export function responseOverrides(request: S3Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [param, header] of Object.entries(OVERRIDES)) {
    const value = request.query.get(param);
    if (value === null) continue;
    if (request.auth.kind === "anonymous") {
      throw s3Error(
        "InvalidRequest",
        "Request specific response headers cannot be used for anonymous GET requests.",
      );
    }
    if (/[\r\n]/.test(value)) throw s3Error("InvalidArgument", `Invalid value for ${param}.`);
    out[header] = value;
  }
  return out;
}
