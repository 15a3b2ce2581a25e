import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { copiedHeaders } from "../acl.ts";
import type { Operation, S3Request, StoreContext } from "../context.ts";
import { s3Error } from "../errors.ts";
import type { BlobRef } from "../storage/blobs.ts";
import type { ObjectRecord } from "../storage/catalog.ts";
import { xmlDocument } from "../xml.ts";
import { storedHeaders } from "./object-headers.ts";
import { commitObject } from "./objects.ts";
import { checkReadPreconditions } from "./preconditions.ts";

/** `x-amz-copy-source: /bucket/key` or `bucket/key`, URL-encoded; versionId is not supported. */
export function copySource(request: S3Request, store: StoreContext): ObjectRecord {
  const raw = request.header("x-amz-copy-source") ?? "";
  const [path = "", query] = raw.split("?");
  if (query !== undefined && query !== "")
    throw s3Error("NotImplemented", "Versioned copy sources are not supported.");
  let decoded: string;
  try {
    decoded = decodeURIComponent(path.replace(/^\//, ""));
  } catch {
    throw s3Error("InvalidArgument", "Invalid copy source encoding.");
  }
  const slash = decoded.indexOf("/");
  if (slash < 1 || slash === decoded.length - 1)
    throw s3Error(
      "InvalidArgument",
      "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.",
    );
  const bucket = decoded.slice(0, slash);
  store.catalog.requireBucket(bucket);
  const source = store.catalog.getObject(bucket, decoded.slice(slash + 1));
  if (!source) throw s3Error("NoSuchKey");
  // x-amz-copy-source-if-* are the read preconditions, applied to the source.
  const conditions = new Map([
    ["if-match", request.header("x-amz-copy-source-if-match")],
    ["if-none-match", request.header("x-amz-copy-source-if-none-match")],
    ["if-modified-since", request.header("x-amz-copy-source-if-modified-since")],
    ["if-unmodified-since", request.header("x-amz-copy-source-if-unmodified-since")],
  ]);
  if (
    checkReadPreconditions({ ...request, header: (name) => conditions.get(name) }, source) === "not-modified"
  ) {
    throw s3Error("PreconditionFailed");
  }
  return source;
}

/** Copies a byte span of the source into a new blob (blobs are never shared between objects). */
export async function copyBytes(options: {
  store: StoreContext;
  source: ObjectRecord;
  span: { start: number; end: number };
}): Promise<{ blob: BlobRef; md5: Buffer }> {
  const { store, source, span } = options;
  const release = store.blobs.lease(source.blobs);
  const { id, path } = await store.blobs.create();
  const md5 = createHash("md5");
  try {
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        callback(null, chunk);
      },
    });
    await pipeline(store.blobs.read(source.blobs, span), tap, createWriteStream(path, { flags: "wx" }));
    await store.blobs.sync(id);
    return { blob: { id, size: span.end - span.start + 1 }, md5: md5.digest() };
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  } finally {
    release();
  }
}

export const copyObject: Operation = {
  name: "CopyObject",
  method: "PUT",
  target: "object",
  header: "x-amz-copy-source",
  async handle(request, store) {
    const bucket = request.bucket as string;
    const key = request.key as string;
    store.catalog.requireBucket(bucket);
    const source = copySource(request, store);
    const directive = (request.header("x-amz-metadata-directive") ?? "COPY").toUpperCase();
    if (directive !== "COPY" && directive !== "REPLACE")
      throw s3Error("InvalidArgument", "Unknown metadata directive.");
    if (directive === "COPY" && source.bucket === bucket && source.key === key) {
      throw s3Error(
        "InvalidRequest",
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    if (source.size > store.options.maxObjectSize)
      throw s3Error(
        "InvalidRequest",
        "The specified copy source is larger than the maximum allowable size for a copy source.",
      );
    const copied = await copyBytes({ store, source, span: { start: 0, end: source.size - 1 } });
    const record: ObjectRecord = {
      bucket,
      key,
      size: source.size,
      etag: `"${copied.md5.toString("hex")}"`,
      modified: Date.now(),
      headers: directive === "COPY" ? copiedHeaders(source.headers, request) : storedHeaders(request),
      checksums: source.parts === undefined ? source.checksums : {},
      blobs: [copied.blob],
    };
    commitObject({ store, request, record, operation: "Copy" });
    return {
      status: 200,
      headers: { "content-type": "application/xml" },
      body: xmlDocument("CopyObjectResult", {
        ETag: record.etag,
        LastModified: new Date(record.modified).toISOString(),
      }),
    };
  },
};
