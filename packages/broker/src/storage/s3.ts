// The broker's own calls to storage go through the AWS SDK (HEAD, ranged GET,
// DELETE, multipart, bucket setup). Checksums only WHEN_REQUIRED: several
// S3-compatible stores (RGW 16, older MinIO) reject flexible checksums.
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { StorageTarget } from "./target.ts";

export function createS3Client(target: StorageTarget): S3Client {
  return new S3Client({
    endpoint: target.endpoint,
    region: target.region,
    forcePathStyle: target.forcePathStyle,
    credentials: target.credentials,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 3,
  });
}

/** True for the SDK's "not found" family (NotFound, NoSuchKey, NoSuchUpload, 404). */
export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e?.name === "NotFound" ||
    e?.name === "NoSuchKey" ||
    e?.name === "NoSuchUpload" ||
    e?.name === "NoSuchBucket" ||
    e?.$metadata?.httpStatusCode === 404
  );
}

/** True when storage holds an object at `key`; storage failures throw. */
export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}
