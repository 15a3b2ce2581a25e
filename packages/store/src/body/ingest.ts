import { type FileHandle, open, rm } from "node:fs/promises";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isSluiceError } from "@sluice/core";
import type { S3Request, StoreContext } from "../context.ts";
import { s3Error } from "../errors.ts";
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
}): Promise<Ingested> {
  const { request, store } = options;
  const expectedSize = request.contentLength;
  if (expectedSize === undefined) throw s3Error("MissingContentLength");
  if (expectedSize > store.options.maxObjectSize) throw s3Error("EntityTooLarge");
  const declared = declaredDigests(request, options.checksumAlgorithm);
  const tap = new DigestTap({ compute: declared.compute, limit: expectedSize, md5: false });
  const { id, path } = await store.blobs.create();
  try {
    const sink = new BlockFileSink(path);
    await pipeline(request.body, tap, sink);
    if (tap.size !== expectedSize) throw s3Error("IncompleteBody");
    const computed = { md5: await sink.md5.digest(), checksums: tap.checksums() };
    verifyDigests({ declared, computed, trailers: request.trailers });
    await store.blobs.sync(id);
    return { blob: { id, size: tap.size }, md5: computed.md5, checksums: computed.checksums };
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
