import { type FileHandle, open, rm } from "node:fs/promises";
import { finished, PassThrough, type Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isSluiceError } from "@sluice/core";
import type { S3Request, StoreContext } from "../context.ts";
import { diskFull, isDiskFull, s3Error } from "../errors.ts";
import type { BlobRef } from "../storage/blobs.ts";
import type { Checksums } from "../storage/catalog.ts";
import type { ChecksumAlgorithm } from "./checksums.ts";
import { DigestTap, declaredDigests, Md5Worker, verifyDigests } from "./digest.ts";

/** Bytes gathered before one write (and one MD5 hand-over): 64 KiB socket chunks become 1 MiB writes. */
const BLOCK = 1024 * 1024;

/**
 * Writes a body to a new file in 1 MiB blocks, each handed on to the MD5
 * worker once written. One block is filled while the previous one is written
 * and hashed; a block is never touched again once handed over.
 */
class BlockFileSink extends Writable {
  readonly #path: string;
  readonly md5 = new Md5Worker();
  #file: FileHandle | undefined;
  #block = Buffer.allocUnsafeSlow(BLOCK);
  #filled = 0;

  constructor(path: string) {
    super({ highWaterMark: BLOCK });
    this.#path = path;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.#path, "wx").then((file) => {
      this.#file = file;
      callback();
    }, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#take(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#flush().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error) this.md5.discard();
    const file = this.#file;
    this.#file = undefined;
    (file ? file.close() : Promise.resolve()).then(
      () => callback(error),
      () => callback(error),
    );
  }

  async #take(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const n = chunk.copy(this.#block, this.#filled, offset);
      this.#filled += n;
      offset += n;
      if (this.#filled === BLOCK) await this.#flush();
    }
  }

  async #flush(): Promise<void> {
    if (this.#filled === 0) return;
    const block = this.#block.subarray(0, this.#filled);
    this.#block = Buffer.allocUnsafeSlow(BLOCK);
    this.#filled = 0;
    let written = 0;
    while (written < block.length) {
      written += (await this.#file!.write(block, written, block.length - written)).bytesWritten;
    }
    await this.md5.update(block);
  }
}

/**
 * The body as a pipeline source that a failure downstream (a chunked body
 * past the maximum size) stops reading, instead of destroying the
 * connection the error is still to be answered on.
 */
function stopsReading(body: Readable): Readable {
  const through = new PassThrough();
  finished(body, (error) => {
    if (error) through.destroy(error);
  });
  return body.pipe(through);
}

export interface Ingested {
  blob: BlobRef;
  /** Hex MD5 of the bytes. */
  md5: Buffer;
  checksums: Checksums;
}

/**
 * Streams a request body into a new blob file (1 MiB writes, MD5 in a worker
 * thread, requested checksums as it goes), then checks
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
  // Transfer-Encoding: chunked without a length (curl -T -, Go clients): the whole body, up to the maximum size.
  const chunked =
    expectedSize === undefined && /\bchunked\b/i.test(request.header("transfer-encoding") ?? "");
  if (expectedSize === undefined && !chunked) throw s3Error("MissingContentLength");
  if (expectedSize !== undefined && expectedSize > store.options.maxObjectSize)
    throw s3Error("EntityTooLarge");
  const declared = declaredDigests(request, options.checksumAlgorithm);
  const encrypted = options.encrypted === true;
  // A sealed blob's file holds ciphertext: its MD5 is taken on the way in. A plain one is
  // hashed by the MD5 worker behind the 1 MiB block writer, off the event loop.
  const tap = new DigestTap({
    compute: declared.compute,
    limit: expectedSize ?? store.options.maxObjectSize,
    md5: encrypted,
  });
  const blob = await store.blobs.create({ encrypted });
  const { id, path } = blob;
  try {
    const sink = encrypted ? undefined : new BlockFileSink(path);
    await pipeline([
      chunked ? stopsReading(request.body) : request.body,
      tap,
      ...(sink ? [sink] : blob.sink()),
    ]);
    if (expectedSize !== undefined && tap.size !== expectedSize) throw s3Error("IncompleteBody");
    const computed = sink ? { md5: await sink.md5.digest(), checksums: tap.checksums() } : tap.result();
    verifyDigests({ declared, computed, trailers: request.trailers });
    await store.blobs.sync(id);
    return { blob: blob.ref(tap.size), md5: computed.md5, checksums: computed.checksums };
  } catch (error) {
    await rm(path, { force: true });
    if (isDiskFull(error)) throw diskFull();
    // A client that hangs up mid-body gets IncompleteBody, never a 500.
    if (!isSluiceError(error)) throw s3Error("IncompleteBody");
    throw error;
  }
}

/** Reads a small body (XML) with the same verification as uploads, refusing more than `limit` bytes. */
export async function readSmallBody(
  request: S3Request,
  limit: number,
  /** x-amz-checksum-* headers describe something else (CompleteMultipartUpload: the object), not this body. */
  options: { checksumHeadersAreNotTheBody?: boolean } = {},
): Promise<string> {
  const all = declaredDigests(request);
  const declared = options.checksumHeadersAreNotTheBody ? { ...all, checksums: {}, compute: [] } : all;
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
