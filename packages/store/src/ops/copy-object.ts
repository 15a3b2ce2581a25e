import { createHash } from "node:crypto";
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
import { encryptionHeaders, isEncrypted, kmsEtag, requestedEncryption, withoutEncryption } from "./sse.ts";

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

/**
 * The MD5 ETag a whole copy of `source` gets: its own, unless it is a
 * multipart object, whose bytes are then read (under a lease) but not written.
 */
export async function contentEtag(store: StoreContext, source: ObjectRecord): Promise<string> {
  if (source.parts === undefined) return source.etag;
  const release = store.blobs.lease(source.blobs);
  try {
    const md5 = createHash("md5");
    for await (const chunk of store.blobs.read(source.blobs, { start: 0, end: source.size - 1 }))
      md5.update(chunk as Buffer);
    return `"${md5.digest("hex")}"`;
  } finally {
    release();
  }
}

/** Copies a byte span of the source into a new blob (a part copy of a range, or of several blobs). */
export async function copyBytes(options: {
  store: StoreContext;
  source: ObjectRecord;
  span: { start: number; end: number };
  /** Seal the copy at rest. */
  encrypted?: boolean;
}): Promise<{ blob: BlobRef; md5: Buffer }> {
  const { store, source, span } = options;
  const release = store.blobs.lease(source.blobs);
  const blob = await store.blobs.create({ encrypted: options.encrypted });
  const { id, path } = blob;
  const md5 = createHash("md5");
  try {
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        callback(null, chunk);
      },
    });
    await pipeline([store.blobs.read(source.blobs, span), tap, ...blob.sink()]);
    await store.blobs.sync(id);
    return { blob: blob.ref(span.end - span.start + 1), md5: md5.digest() };
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
    // The copy's encryption is the request's, whatever the source's (as on S3).
    const encryption = requestedEncryption((name) => request.header(name)) ?? {};
    const headers = {
      ...withoutEncryption(
        directive === "COPY" ? copiedHeaders(source.headers, request) : storedHeaders(request),
      ),
      ...encryption,
    };
    // Blobs are immutable: the copy references the source's files instead of copying their bytes,
    // unless it must be sealed and some are not.
    const share = !isEncrypted(headers) || source.blobs.every((blob) => blob.sse !== undefined);
    const copied = share
      ? undefined
      : await copyBytes({ store, source, span: { start: 0, end: source.size - 1 }, encrypted: true });
    const record: ObjectRecord = {
      bucket,
      key,
      size: source.size,
      etag:
        kmsEtag(headers) ??
        (copied && source.parts !== undefined
          ? `"${copied.md5.toString("hex")}"`
          : await contentEtag(store, source)),
      modified: Date.now(),
      headers,
      checksums: source.parts === undefined ? source.checksums : {},
      blobs: copied ? [copied.blob] : source.blobs,
    };
    commitObject({ store, request, record, operation: "Copy", shared: share });
    return {
      status: 200,
      headers: { "content-type": "application/xml", ...encryptionHeaders(headers) },
      body: xmlDocument("CopyObjectResult", {
        ETag: record.etag,
        LastModified: new Date(record.modified).toISOString(),
      }),
    };
  },
};
