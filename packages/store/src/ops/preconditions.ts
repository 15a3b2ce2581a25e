import type { S3Request } from "../context.ts";
import { s3Error } from "../errors.ts";
import type { ObjectRecord } from "../storage/catalog.ts";

function etagMatches(list: string, etag: string): boolean {
  const bare = etag.replace(/"/g, "");
  return list.split(",").some((item) => {
    const candidate = item.trim().replace(/^W\//, "").replace(/"/g, "");
    return candidate === "*" || candidate === bare;
  });
}

function parseDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * RFC 9110 conditional GET/HEAD as S3 applies them: If-Match / If-Unmodified-Since
 * failing is 412; If-None-Match / If-Modified-Since holding is 304.
 * Returns "not-modified" for 304.
 */
export function checkReadPreconditions(request: S3Request, record: ObjectRecord): "ok" | "not-modified" {
  const modified = Math.floor(record.modified / 1000) * 1000;
  const ifMatch = request.header("if-match");
  const ifNoneMatch = request.header("if-none-match");
  if (ifMatch !== undefined && !etagMatches(ifMatch, record.etag)) throw s3Error("PreconditionFailed");
  const unmodifiedSince = parseDate(request.header("if-unmodified-since"));
  if (ifMatch === undefined && unmodifiedSince !== undefined && modified > unmodifiedSince)
    throw s3Error("PreconditionFailed");
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, record.etag)) return "not-modified";
  const modifiedSince = parseDate(request.header("if-modified-since"));
  if (ifNoneMatch === undefined && modifiedSince !== undefined && modified <= modifiedSince)
    return "not-modified";
  return "ok";
}

/**
 * Conditional writes (PutObject, CompleteMultipartUpload, CopyObject), checked
 * against the current version inside the commit transaction:
 * `If-None-Match: *` fails when the key exists, `If-None-Match: <etag>` when
 * the current version has that ETag (RFC 9110; S3 itself takes only `*`),
 * `If-Match` when the key is missing (404 NoSuchKey) or its ETag differs.
 */
export function writePrecondition(request: S3Request): (current: ObjectRecord | undefined) => void {
  const ifNoneMatch = request.header("if-none-match");
  const ifMatch = request.header("if-match");
  return (current) => {
    if (ifNoneMatch !== undefined && current && etagMatches(ifNoneMatch, current.etag))
      throw s3Error("PreconditionFailed");
    if (ifMatch !== undefined) {
      if (!current) throw s3Error("NoSuchKey");
      if (!etagMatches(ifMatch, current.etag)) throw s3Error("PreconditionFailed");
    }
  };
}
