import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { Crc32c } from "@aws-crypto/crc32c";
import { s3Error } from "../errors.ts";
import type { Checksums } from "../storage/catalog.ts";

/** The flexible checksums S3 verifies (x-amz-checksum-*); CRC64NVME is not supported yet. */
export type ChecksumAlgorithm = keyof Checksums;
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ["crc32", "crc32c", "sha1", "sha256"];

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
  const bytes = { crc32: 4, crc32c: 4, sha1: 20, sha256: 32 }[algorithm];
  const decoded = Buffer.from(value, "base64");
  if (decoded.length !== bytes || decoded.toString("base64") !== value) {
    throw s3Error("InvalidRequest", `Value for x-amz-checksum-${algorithm} header is invalid.`);
  }
}
