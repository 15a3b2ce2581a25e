import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import type { S3Request } from "../context.ts";
import { s3Error } from "../errors.ts";
import type { Checksums } from "../storage/catalog.ts";
import {
  assertChecksumShape,
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  type Checksummer,
  checksumFromHeaderName,
  createChecksummer,
  parseChecksumAlgorithm,
} from "./checksums.ts";

/** What the request says its body should hash to. */
export interface DeclaredDigests {
  /** Content-MD5 as sent (base64). */
  md5?: string;
  /** x-amz-checksum-* header values, checked at the end. */
  checksums: Checksums;
  /** Algorithms whose value arrives in the aws-chunked trailer. */
  trailer: ChecksumAlgorithm[];
  /** Every algorithm to compute and store (declared, trailed, or requested by x-amz-sdk-checksum-algorithm). */
  compute: ChecksumAlgorithm[];
}

/** Reads Content-MD5, x-amz-checksum-*, x-amz-trailer and x-amz-sdk-checksum-algorithm. Malformed values are rejected before any byte is read. */
export function declaredDigests(request: S3Request, extra?: ChecksumAlgorithm): DeclaredDigests {
  const md5 = request.header("content-md5");
  if (md5 !== undefined && Buffer.from(md5, "base64").length !== 16) throw s3Error("InvalidDigest");
  const checksums: Checksums = {};
  for (const name of Object.keys(request.raw.headers)) {
    const algorithm = checksumFromHeaderName(name);
    if (!algorithm) continue;
    const value = request.header(name) ?? "";
    assertChecksumShape(algorithm, value);
    checksums[algorithm] = value;
  }
  const trailer = (request.header("x-amz-trailer") ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean)
    .map((name) => {
      const algorithm = checksumFromHeaderName(name);
      if (!algorithm) throw s3Error("InvalidRequest", `Unsupported trailer ${name}.`);
      return algorithm;
    });
  const sdkAlgorithm = request.header("x-amz-sdk-checksum-algorithm");
  const compute = new Set<ChecksumAlgorithm>([
    ...(Object.keys(checksums) as ChecksumAlgorithm[]),
    ...trailer,
  ]);
  if (sdkAlgorithm) compute.add(parseChecksumAlgorithm(sdkAlgorithm));
  if (extra) compute.add(extra);
  if (Object.keys(checksums).length + trailer.length > 1) {
    throw s3Error(
      "InvalidRequest",
      "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
    );
  }
  return {
    ...(md5 === undefined ? {} : { md5 }),
    checksums,
    trailer,
    compute: CHECKSUM_ALGORITHMS.filter((a) => compute.has(a)),
  };
}

/** Counts and hashes a body as it passes (MD5 for the ETag, plus the requested checksums). */
export class DigestTap extends Transform {
  readonly #md5 = createHash("md5");
  readonly #checksums: Array<[ChecksumAlgorithm, Checksummer]>;
  readonly #limit: number;
  size = 0;

  constructor(options: { compute: readonly ChecksumAlgorithm[]; limit: number }) {
    super();
    this.#checksums = options.compute.map((algorithm) => [algorithm, createChecksummer(algorithm)]);
    this.#limit = options.limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.#limit) {
      callback(s3Error("EntityTooLarge"));
      return;
    }
    this.#md5.update(chunk);
    for (const [, checksummer] of this.#checksums) checksummer.update(chunk);
    callback(null, chunk);
  }

  /** Call once, after the stream ended. */
  result(): { md5: Buffer; checksums: Checksums } {
    const checksums: Checksums = {};
    for (const [algorithm, checksummer] of this.#checksums) checksums[algorithm] = checksummer.digest();
    return { md5: this.#md5.digest(), checksums };
  }
}

/**
 * Compares what arrived with what was declared: Content-MD5 and checksum
 * mismatches are 400 BadDigest; a checksum trailer is compared like a header.
 */
export function verifyDigests(options: {
  declared: DeclaredDigests;
  computed: { md5: Buffer; checksums: Checksums };
  trailers: ReadonlyMap<string, string>;
}): void {
  const { declared, computed } = options;
  if (declared.md5 !== undefined && declared.md5 !== computed.md5.toString("base64"))
    throw s3Error("BadDigest");
  const expected: Checksums = { ...declared.checksums };
  for (const algorithm of declared.trailer) {
    const value = options.trailers.get(`x-amz-checksum-${algorithm}`);
    if (value === undefined) throw s3Error("InvalidRequest", `Missing trailer x-amz-checksum-${algorithm}.`);
    assertChecksumShape(algorithm, value);
    expected[algorithm] = value;
  }
  for (const [algorithm, value] of Object.entries(expected) as Array<[ChecksumAlgorithm, string]>) {
    if (computed.checksums[algorithm] !== value) {
      throw s3Error(
        "BadDigest",
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
    }
  }
}
