import { ingestBody } from "../body/ingest.ts";
import type { Operation, S3Request, S3Response, StoreContext } from "../context.ts";
import { s3Error } from "../errors.ts";
import type { ObjectRecord } from "../storage/catalog.ts";
import { checksumHeaders, objectHeaders, responseOverrides, storedHeaders } from "./object-headers.ts";
import { checkReadPreconditions, writePrecondition } from "./preconditions.ts";
import { parseRange } from "./range.ts";
import { encryptionHeaders, isEncrypted, kmsEtag } from "./sse.ts";

/** Commits a new version and its event in one transaction; the bytes it replaced are retired. */
export function commitObject(options: {
  store: StoreContext;
  request: S3Request;
  record: ObjectRecord;
  operation: "Put" | "Copy" | "Post";
  /** The record references another object's blobs (a copy): a failed commit leaves them alone. */
  shared?: boolean;
}): void {
  const { store, record } = options;
  let replaced: ReturnType<typeof store.catalog.putObject>;
  try {
    replaced = store.catalog.putObject(record, {
      precondition: writePrecondition(options.request),
      announce: { operation: options.operation, requestId: options.request.id },
      shared: options.shared ?? false,
    });
  } catch (error) {
    if (!options.shared) store.blobs.retire(record.blobs);
    throw error;
  }
  store.blobs.retire(replaced);
}

export const putObject: Operation = {
  name: "PutObject",
  method: "PUT",
  target: "object",
  async handle(request, store) {
    const bucket = request.bucket as string;
    store.catalog.requireBucket(bucket);
    const headers = storedHeaders(request);
    // Fail fast on a write that cannot succeed; checked again at commit.
    writePrecondition(request)(store.catalog.getObject(bucket, request.key as string));
    const ingested = await ingestBody({ request, store, encrypted: isEncrypted(headers) });
    const record: ObjectRecord = {
      bucket,
      key: request.key as string,
      size: ingested.blob.size,
      etag: kmsEtag(headers) ?? `"${ingested.md5.toString("hex")}"`,
      modified: Date.now(),
      headers,
      checksums: ingested.checksums,
      blobs: [ingested.blob],
    };
    commitObject({ store, request, record, operation: "Put" });
    return {
      status: 200,
      headers: { etag: record.etag, ...checksumHeaders(record.checksums), ...encryptionHeaders(headers) },
    };
  },
};

/**
 * `?partNumber=N`: that part's bytes of a multipart object (206, as a range);
 * a plain object has one part, all of it. Past the last part is 416.
 */
function partSpan(request: S3Request, record: ObjectRecord): { start: number; end: number } | undefined {
  const value = request.query.get("partNumber");
  if (value === null) return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 10_000)
    throw s3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
  if (request.header("range") !== undefined)
    throw s3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter");
  const number = Number(value);
  const parts = record.parts !== undefined && record.blobs.length === record.parts ? record.blobs : undefined;
  if (number > (parts?.length ?? 1)) throw s3Error("InvalidPartNumber");
  if (!parts) return { start: 0, end: record.size - 1 };
  const start = parts.slice(0, number - 1).reduce((sum, blob) => sum + blob.size, 0);
  return { start, end: start + (parts[number - 1] as { size: number }).size - 1 };
}

function readObject(request: S3Request, store: StoreContext, withBody: boolean): S3Response {
  store.catalog.requireBucket(request.bucket as string);
  const record = store.catalog.getObject(request.bucket as string, request.key as string);
  if (!record) throw s3Error("NoSuchKey");
  const headers = objectHeaders(record, request);
  if (checkReadPreconditions(request, record) === "not-modified") {
    return {
      status: 304,
      headers: { etag: headers.etag as string, "last-modified": headers["last-modified"] as string },
    };
  }
  Object.assign(headers, responseOverrides(request));
  const range = partSpan(request, record) ?? parseRange(request.header("range"), record.size);
  const span = range ?? { start: 0, end: record.size - 1 };
  headers["content-length"] = String(span.end - span.start + 1);
  if (range) {
    headers["content-range"] = `bytes ${span.start}-${span.end}/${record.size}`;
    for (const name of Object.keys(headers)) if (name.startsWith("x-amz-checksum-")) delete headers[name];
  }
  const status = range ? 206 : 200;
  if (!withBody) return { status, headers };
  // Leased in the same tick the record was read: an overwrite cannot remove these bytes mid-stream.
  const release = store.blobs.lease(record.blobs);
  return { status, headers, body: store.blobs.read(record.blobs, span), onDone: release };
}

export const getObject: Operation = {
  name: "GetObject",
  method: "GET",
  target: "object",
  async handle(request, store) {
    return readObject(request, store, true);
  },
};

export const headObject: Operation = {
  name: "HeadObject",
  method: "HEAD",
  target: "object",
  async handle(request, store) {
    return readObject(request, store, false);
  },
};

/** GetObject / HeadObject with ?partNumber=N (see partSpan). */
export const getObjectPart: Operation = { ...getObject, subresources: ["partNumber"] };
export const headObjectPart: Operation = { ...headObject, subresources: ["partNumber"] };

/** Removes an object (if any) and announces it in the same transaction. S3 answers 204 either way. */
export function removeObject(options: { store: StoreContext; request: S3Request; key: string }): void {
  const { store, request, key } = options;
  const removed = store.catalog.deleteObject({
    bucket: request.bucket as string,
    key,
    announce: { operation: "Delete", requestId: request.id },
  });
  if (removed) store.blobs.retire(removed);
}

export const deleteObject: Operation = {
  name: "DeleteObject",
  method: "DELETE",
  target: "object",
  async handle(request, store) {
    store.catalog.requireBucket(request.bucket as string);
    removeObject({ store, request, key: request.key as string });
    return { status: 204 };
  },
};
