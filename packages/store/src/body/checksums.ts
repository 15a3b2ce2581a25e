import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { Crc32c } from "@aws-crypto/crc32c";
import { s3Error } from "../errors.ts";
import type { Checksums } from "../storage/catalog.ts";

/** The flexible checksums S3 verifies (x-amz-checksum-*). */
export type ChecksumAlgorithm = keyof Checksums;
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = [
  "crc32",
  "crc32c",
  "crc64nvme",
  "sha1",
  "sha256",
];

// CRC-64/NVME (reflected polynomial 0x9a6c9329ac4bc9b5, init and xorout all ones), the AWS SDKs'
// newest default, in 32-bit halves so it needs no BigInt. Hand-written because the SDK's own
// (@aws-sdk/checksums) only has an async digest; it is the oracle in checksums.test.ts.
const CRC64_HI = new Uint32Array(256);
const CRC64_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let bit = 0; bit < 8; bit++) {
    const odd = lo & 1;
    lo = ((lo >>> 1) | (hi << 31)) >>> 0;
    hi >>>= 1;
    if (odd) {
      hi = (hi ^ 0x9a6c9329) >>> 0;
      lo = (lo ^ 0xac4bc9b5) >>> 0;
    }
  }
  CRC64_HI[i] = hi;
  CRC64_LO[i] = lo;
}

function crc64nvme(): Checksummer {
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  return {
    update: (chunk) => {
      for (let i = 0; i < chunk.length; i++) {
        const index = (lo ^ (chunk[i] as number)) & 0xff;
        lo = (((lo >>> 8) | (hi << 24)) ^ (CRC64_LO[index] as number)) >>> 0;
        hi = ((hi >>> 8) ^ (CRC64_HI[index] as number)) >>> 0;
      }
    },
    digest: () => {
      const out = Buffer.alloc(8);
      out.writeUInt32BE((hi ^ 0xffffffff) >>> 0, 0);
      out.writeUInt32BE((lo ^ 0xffffffff) >>> 0, 4);
      return out.toString("base64");
    },
  };
}

/** Incremental checksum whose digest is base64, as S3 sends it. */
export interface Checksummer {
  update(chunk: Buffer): void;
  digest(): string;
}

function uint32(value: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out.toString("base64");
}

export function createChecksummer(algorithm: ChecksumAlgorithm): Checksummer {
  switch (algorithm) {
    case "crc32": {
      let value = 0;
      return {
        update: (chunk) => {
          value = crc32(chunk, value);
        },
        digest: () => uint32(value),
      };
    }
    case "crc32c": {
      const state = new Crc32c();
      return { update: (chunk) => void state.update(chunk), digest: () => uint32(state.digest()) };
    }
    case "crc64nvme":
      return crc64nvme();
    case "sha1":
    case "sha256": {
      const hash = createHash(algorithm);
      return { update: (chunk) => void hash.update(chunk), digest: () => hash.digest("base64") };
    }
  }
}

/** `x-amz-checksum-crc32` → "crc32"; anything not a supported checksum header → undefined. */
export function checksumFromHeaderName(name: string): ChecksumAlgorithm | undefined {
  const match = /^x-amz-checksum-([a-z0-9]+)$/.exec(name.toLowerCase());
  const algorithm = match?.[1];
  if (algorithm === undefined || algorithm === "mode" || algorithm === "algorithm" || algorithm === "type")
    return undefined;
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw s3Error("InvalidRequest", `Checksum algorithm ${algorithm} is not supported.`);
  }
  return algorithm as ChecksumAlgorithm;
}

/** An algorithm named by x-amz-sdk-checksum-algorithm / x-amz-checksum-algorithm ("CRC32"...). */
export function parseChecksumAlgorithm(value: string): ChecksumAlgorithm {
  const algorithm = value.toLowerCase();
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw s3Error("InvalidRequest", `Checksum algorithm ${value} is not supported.`);
  }
  return algorithm as ChecksumAlgorithm;
}

/** Base64 digests have a fixed length per algorithm; anything else is InvalidDigest (not BadDigest). */
export function assertChecksumShape(algorithm: ChecksumAlgorithm, value: string): void {
  const bytes = { crc32: 4, crc32c: 4, crc64nvme: 8, sha1: 20, sha256: 32 }[algorithm];
  const decoded = Buffer.from(value, "base64");
  if (decoded.length !== bytes || decoded.toString("base64") !== value) {
    throw s3Error("InvalidRequest", `Value for x-amz-checksum-${algorithm} header is invalid.`);
  }
}

/** The CRCs whose value for a whole object can be computed from its parts' values (FULL_OBJECT multipart). */
const COMBINABLE: Partial<Record<ChecksumAlgorithm, { width: bigint; poly: bigint }>> = {
  crc32: { width: 32n, poly: 0xedb88320n },
  crc32c: { width: 32n, poly: 0x82f63b78n },
  crc64nvme: { width: 64n, poly: 0x9a6c9329ac4bc9b5n },
};

export const isCombinable = (algorithm: ChecksumAlgorithm): boolean => COMBINABLE[algorithm] !== undefined;

/**
 * The CRC of concatenated parts from each part's CRC and length, without
 * reading a byte (zlib's crc32_combine, for any reflected CRC whose init and
 * xorout are all ones): crc(A‖B) = crc(A)·x^(8·len(B)) mod P ⊕ crc(B).
 */
export function combineCrcs(
  algorithm: ChecksumAlgorithm,
  parts: ReadonlyArray<{ crc: string; size: number }>,
): string {
  const spec = COMBINABLE[algorithm];
  if (!spec) throw new TypeError(`${algorithm} cannot be combined`);
  const { width, poly } = spec;
  const top = 1n << (width - 1n);
  const multiply = (a: bigint, b: bigint): bigint => {
    let m = top;
    let product = 0n;
    for (;;) {
      if (a & m) {
        product ^= b;
        if ((a & (m - 1n)) === 0n) break;
      }
      m >>= 1n;
      b = b & 1n ? (b >> 1n) ^ poly : b >> 1n;
    }
    return product;
  };
  // x^(2^k) mod P for k = 0..63.
  const powers: bigint[] = [top >> 1n];
  for (let k = 1; k < 64; k++) powers.push(multiply(powers[k - 1] as bigint, powers[k - 1] as bigint));
  const shiftBytes = (bytes: number): bigint => {
    let n = BigInt(bytes) * 8n;
    let result = top;
    for (let k = 0; n > 0n; k++, n >>= 1n) if (n & 1n) result = multiply(powers[k] as bigint, result);
    return result;
  };
  const bytes = Number(width / 8n);
  let combined: bigint | undefined;
  for (const part of parts) {
    const value = BigInt(`0x${Buffer.from(part.crc, "base64").toString("hex")}`);
    combined = combined === undefined ? value : multiply(shiftBytes(part.size), combined) ^ value;
  }
  return Buffer.from((combined ?? 0n).toString(16).padStart(bytes * 2, "0"), "hex").toString("base64");
}
