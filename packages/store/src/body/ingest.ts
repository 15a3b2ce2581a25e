import { rm } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { isSluiceError } from "@sluice/core";
import type { S3Request, StoreContext } from "../context.ts";
import { s3Error } from "../errors.ts";
import type { BlobRef } from "../storage/blobs.ts";
import type { Checksums } from "../storage/catalog.ts";
import type { ChecksumAlgorithm } from "./checksums.ts";
import { DigestTap, declaredDigests, verifyDigests } from "./digest.ts";

export interface Ingested {
  blob: BlobRef;
  /** Hex MD5 of the bytes. */
  md5: Buffer;
  checksums: Checksums;
}

/**
 * Streams a request body into a new blob file, hashing as it goes, then checks
 * length, signature binding (by the verified body stream), Content-MD5 and
 * checksums, and fsyncs. On any failure the blob is removed, so nothing
 * partial can ever be referenced. Memory stays flat: the file stream's
 * backpressure paces the socket.
 */
export async function ingestBody(options: {
  request: S3Request;
  store: StoreContext;
  /** Checksum the upload asked for at creation (multipart). */
  checksumAlgorithm?: ChecksumAlgorithm;
  /** Seal the bytes at rest (server-side encryption asked for). */
  encrypted?: boolean;
}): Promise<Ingested> {
  const { request, store } = options;
  const expectedSize = request.contentLength;
  if (expectedSize === undefined) throw s3Error("MissingContentLength");
  if (expectedSize > store.options.maxObjectSize) throw s3Error("EntityTooLarge");
  const declared = declaredDigests(request, options.checksumAlgorithm);
  const tap = new DigestTap({ compute: declared.compute, limit: expectedSize });
  const blob = await store.blobs.create({ encrypted: options.encrypted });
  const { id, path } = blob;
  try {
    await pipeline([request.body, tap, ...blob.sink()]);
    if (tap.size !== expectedSize) throw s3Error("IncompleteBody");
    const computed = tap.result();
    verifyDigests({ declared, computed, trailers: request.trailers });
    await store.blobs.sync(id);
    return { blob: blob.ref(tap.size), md5: computed.md5, checksums: computed.checksums };
  } catch (error) {
    await rm(path, { force: true });
    // A client that hangs up mid-body gets IncompleteBody, never a 500.
    if (!isSluiceError(error)) throw s3Error("IncompleteBody");
    throw error;
  }
}

/** Reads a small body (XML) with the same verification as uploads, refusing more than `limit` bytes. */
export async function readSmallBody(request: S3Request, limit: number): Promise<string> {
  const declared = declaredDigests(request);
  if (request.contentLength !== undefined && request.contentLength > limit)
    throw s3Error("MaxMessageLengthExceeded");
  const tap = new DigestTap({ compute: declared.compute, limit });
  const chunks: Buffer[] = [];
  try {
    await pipeline(request.body, tap, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) chunks.push(chunk);
    });
  } catch (error) {
    if (isSluiceError(error) && error.code === "EntityTooLarge") throw s3Error("MaxMessageLengthExceeded");
    if (!isSluiceError(error)) throw s3Error("IncompleteBody");
    throw error;
  }
  verifyDigests({ declared, computed: tap.result(), trailers: request.trailers });
  return Buffer.concat(chunks).toString("utf8");
}
