import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { SluiceError } from "@sluice/core";
import { hmacSha256, sha256Hex } from "./encoding.ts";
import { type SigningContext, sameSignature } from "./verify.ts";

const EMPTY_SHA256 = sha256Hex("");
// A chunk header is "<hex size>;chunk-signature=<64 hex>"; trailer lines are short too.
const MAX_LINE = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;

export interface AwsChunkedOptions {
  /** From verifyRequest for STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER); absent for unsigned chunks. */
  signing?: SigningContext;
  /** Whether trailing headers follow the last chunk. */
  trailer: boolean;
  /** Trailer names the request declared in x-amz-trailer (lower-case); exactly these must arrive. */
  declaredTrailers: readonly string[];
  /** x-amz-decoded-content-length: the decoded body must have exactly this many bytes. */
  decodedLength: number;
}

const malformed = (message: string) => new SluiceError({ code: "IncompleteBody", status: 400, message });
const badSignature = () =>
  new SluiceError({
    code: "SignatureDoesNotMatch",
    status: 403,
    message: "The request signature we calculated does not match the signature you provided.",
  });

type State = "header" | "data" | "data-end" | "trailer" | "done";

/**
 * Decodes an aws-chunked body as it streams (constant memory), verifying each
 * chunk signature, chained from the seed signature of the request, and the
 * trailer signature; collects the trailing headers (x-amz-checksum-*), which
 * the receiver compares with its own checksum of the decoded bytes once the
 * stream has ended (`trailers`).
 *
 * The output is not trustworthy until the stream ends without error: a
 * receiver commits nothing before that.
 */
export class AwsChunkedDecoder extends Transform {
  readonly #options: AwsChunkedOptions;
  #state: State = "header";
  #line = Buffer.alloc(0);
  #remaining = 0;
  #chunkSignature = "";
  #chunkHash = createHash("sha256");
  #previousSignature: string;
  #decoded = 0;
  #trailerBytes = 0;
  #trailerLines: string[] = [];
  readonly trailers = new Map<string, string>();

  constructor(options: AwsChunkedOptions) {
    super();
    this.#options = options;
    this.#previousSignature = options.signing?.signature ?? "";
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#consume(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.#state !== "done") callback(malformed("The aws-chunked body ended early."));
    else if (this.#decoded !== this.#options.decodedLength) {
      callback(malformed("The decoded body length does not match x-amz-decoded-content-length."));
    } else callback();
  }

  #consume(input: Buffer): void {
    let offset = 0;
    while (offset < input.length) {
      if (this.#state === "data") {
        const take = Math.min(this.#remaining, input.length - offset);
        const slice = input.subarray(offset, offset + take);
        if (this.#options.signing) this.#chunkHash.update(slice);
        this.push(slice);
        this.#remaining -= take;
        offset += take;
        if (this.#remaining === 0) this.#state = "data-end";
        continue;
      }
      if (this.#state === "done") throw malformed("Unexpected bytes after the last aws-chunked chunk.");
      const end = input.indexOf(0x0a, offset);
      const piece = input.subarray(offset, end < 0 ? input.length : end + 1);
      this.#line = Buffer.concat([this.#line, piece]);
      offset += piece.length;
      if (this.#line.length > MAX_LINE) throw malformed("An aws-chunked line is too long.");
      if (end < 0) return;
      const text = this.#line.toString("latin1");
      this.#line = Buffer.alloc(0);
      if (!text.endsWith("\r\n")) throw malformed("aws-chunked lines must end with CRLF.");
      this.#onLine(text.slice(0, -2));
    }
  }

  #onLine(line: string): void {
    switch (this.#state) {
      case "header":
        this.#onChunkHeader(line);
        return;
      case "data-end":
        if (line !== "") throw malformed("An aws-chunked chunk is longer than its declared size.");
        this.#checkChunkSignature();
        this.#state = "header";
        return;
      case "trailer":
        this.#onTrailerLine(line);
        return;
      default:
        throw malformed("Malformed aws-chunked body.");
    }
  }

  #onChunkHeader(line: string): void {
    const [sizeText = "", ...extensions] = line.split(";");
    if (!/^[0-9a-fA-F]{1,15}$/.test(sizeText)) throw malformed("Malformed aws-chunked chunk size.");
    const size = Number.parseInt(sizeText, 16);
    if (this.#decoded + size > this.#options.decodedLength)
      throw malformed("The aws-chunked body is longer than x-amz-decoded-content-length.");
    if (this.#options.signing) {
      const signature = /^chunk-signature=([0-9a-f]{64})$/.exec(extensions.join(";"))?.[1];
      if (!signature) throw malformed("Missing or malformed chunk-signature.");
      this.#chunkSignature = signature;
    }
    this.#remaining = size;
    this.#decoded += size;
    if (size > 0) {
      this.#state = "data";
      return;
    }
    // The empty last chunk is signed too; trailer lines (maybe none) and an empty line follow.
    this.#checkChunkSignature();
    this.#state = "trailer";
  }

  #checkChunkSignature(): void {
    const { signing } = this.#options;
    if (!signing) return;
    const digest = this.#chunkHash.digest("hex");
    this.#chunkHash = createHash("sha256");
    const toSign = [
      "AWS4-HMAC-SHA256-PAYLOAD",
      signing.dateTime,
      signing.scope,
      this.#previousSignature,
      EMPTY_SHA256,
      digest,
    ].join("\n");
    const expected = hmacSha256(signing.signingKey, toSign).toString("hex");
    if (!sameSignature(expected, this.#chunkSignature)) throw badSignature();
    this.#previousSignature = expected;
  }

  #onTrailerLine(line: string): void {
    this.#trailerBytes += line.length + 2;
    if (this.#trailerBytes > MAX_TRAILER_BYTES) throw malformed("The aws-chunked trailer is too long.");
    if (line !== "") {
      if (!this.#options.trailer)
        throw malformed("Unexpected trailer in an aws-chunked body without x-amz-trailer.");
      this.#trailerLines.push(line);
      return;
    }
    this.#endTrailers();
    this.#state = "done";
  }

  #endTrailers(): void {
    let trailerSignature: string | undefined;
    const canonical: string[] = [];
    for (const line of this.#trailerLines) {
      const at = line.indexOf(":");
      if (at < 1) throw malformed("Malformed aws-chunked trailer.");
      const name = line.slice(0, at).trim().toLowerCase();
      const value = line.slice(at + 1).trim();
      if (name === "x-amz-trailer-signature") {
        trailerSignature = value;
        continue;
      }
      if (!this.#options.declaredTrailers.includes(name) || this.trailers.has(name)) {
        throw malformed(`Trailer ${name} was not declared in x-amz-trailer.`);
      }
      this.trailers.set(name, value);
      canonical.push(`${name}:${value}\n`);
    }
    for (const name of this.#options.declaredTrailers) {
      if (!this.trailers.has(name)) throw malformed(`Declared trailer ${name} is missing.`);
    }
    const { signing } = this.#options;
    if (!signing || !this.#options.trailer) return;
    if (!trailerSignature) throw badSignature();
    const toSign = [
      "AWS4-HMAC-SHA256-TRAILER",
      signing.dateTime,
      signing.scope,
      this.#previousSignature,
      sha256Hex(canonical.join("")),
    ].join("\n");
    if (!sameSignature(hmacSha256(signing.signingKey, toSign).toString("hex"), trailerSignature))
      throw badSignature();
  }
}
