import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { hmacSha256, sha256Hex } from "./encoding.ts";
import type { SigningContext } from "./verify.ts";

const EMPTY_SHA256 = sha256Hex("");

export interface AwsChunkedEncoderOptions {
  /** Seed signature and key material of the request: chunks are signed and chained (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]). Absent: STREAMING-UNSIGNED-PAYLOAD-TRAILER. */
  signing?: SigningContext;
  /** Bytes per chunk (the last may be shorter). Default 64 KiB. */
  chunkSize?: number;
  /** Trailing headers, asked for once the body has passed (e.g. a checksum computed on the way). */
  trailers?: () => Array<[string, string]>;
}

/**
 * The signer side of aws-chunked: frames a body as it streams, signing each
 * chunk with the signature of the one before, then the trailer. Mirrors
 * AwsChunkedDecoder (chunked.ts); memory is one chunk.
 */
export class AwsChunkedEncoder extends Transform {
  readonly #options: AwsChunkedEncoderOptions;
  readonly #chunkSize: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #previous: string;

  constructor(options: AwsChunkedEncoderOptions = {}) {
    super();
    this.#options = options;
    this.#chunkSize = options.chunkSize ?? 64 * 1024;
    this.#previous = options.signing?.signature ?? "";
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    while (this.#pendingBytes >= this.#chunkSize) {
      const all = Buffer.concat(this.#pending);
      this.#emit(all.subarray(0, this.#chunkSize));
      this.#pending = [all.subarray(this.#chunkSize)];
      this.#pendingBytes = all.length - this.#chunkSize;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#pendingBytes > 0) this.#emit(Buffer.concat(this.#pending));
    this.#emit(Buffer.alloc(0));
    const trailers = this.#options.trailers?.() ?? [];
    let text = trailers.map(([name, value]) => `${name}:${value}\r\n`).join("");
    const { signing } = this.#options;
    if (signing && trailers.length > 0) {
      const canonical = trailers.map(([name, value]) => `${name}:${value}\n`).join("");
      text += `x-amz-trailer-signature:${this.#sign("AWS4-HMAC-SHA256-TRAILER", [sha256Hex(canonical)])}\r\n`;
    }
    this.push(`${text}\r\n`);
    callback();
  }

  #emit(data: Buffer): void {
    const { signing } = this.#options;
    const extension = signing
      ? `;chunk-signature=${this.#sign("AWS4-HMAC-SHA256-PAYLOAD", [EMPTY_SHA256, createHash("sha256").update(data).digest("hex")])}`
      : "";
    this.push(`${data.length.toString(16)}${extension}\r\n`);
    if (data.length > 0) {
      this.push(data);
      this.push("\r\n");
    }
  }

  #sign(algorithm: string, hashes: string[]): string {
    const signing = this.#options.signing as SigningContext;
    const toSign = [algorithm, signing.dateTime, signing.scope, this.#previous, ...hashes].join("\n");
    this.#previous = hmacSha256(signing.signingKey, toSign).toString("hex");
    return this.#previous;
  }
}
