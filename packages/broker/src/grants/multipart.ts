// Multipart: the part plan (size from the profile, at least 5 MiB, at most
// 10,000 parts) and lazily presigned part URLs, each pinned to its exact length.
import { errors } from "@sluice/core";
import { presignUrl } from "@sluice/sigv4";
import { publicObjectUrl, type StorageTarget } from "../storage/target.ts";

export const MIN_PART_SIZE = 5 * 1024 ** 2;
export const MAX_PART_SIZE = 5 * 1024 ** 3;
export const MAX_PARTS = 10_000;
const MIB = 1024 ** 2;

export function planParts(size: number, preferredPartSize: number): { partSize: number; partCount: number } {
  const needed = Math.ceil(size / MAX_PARTS / MIB) * MIB;
  const partSize = Math.min(MAX_PART_SIZE, Math.max(MIN_PART_SIZE, preferredPartSize, needed));
  return { partSize, partCount: Math.max(1, Math.ceil(size / partSize)) };
}

export function partLength(
  plan: { size: number; partSize: number; partCount: number },
  partNumber: number,
): number {
  return partNumber < plan.partCount ? plan.partSize : plan.size - plan.partSize * (plan.partCount - 1);
}

export interface PartGrant {
  partNumber: number;
  url: string;
  headers: Record<string, string>;
}

export function partGrants(
  target: StorageTarget,
  upload: {
    key: string;
    multipartId: string;
    size: number;
    partSize: number;
    partCount: number;
    expiresIn: number;
  },
  partNumbers: number[],
): PartGrant[] {
  return partNumbers.map((partNumber) => {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > upload.partCount) {
      throw errors.badRequest(`Part numbers run from 1 to ${upload.partCount}`, "InvalidPartNumber");
    }
    const headers = { "content-length": String(partLength(upload, partNumber)) };
    const base = publicObjectUrl(target, upload.key);
    const url = presignUrl({
      method: "PUT",
      url: `${base}?partNumber=${partNumber}&uploadId=${encodeURIComponent(upload.multipartId)}`,
      credentials: target.credentials,
      region: target.region,
      expiresIn: upload.expiresIn,
      headers,
    });
    return { partNumber, url, headers };
  });
}
