// Server-side encryption as requested by S3 clients: x-amz-server-side-encryption
// (AES256, or aws:kms backed by the same local master key: the embedded store has
// no KMS, and a development copy of a KMS-encrypted deployment should still run),
// on PUT, POST fields, CreateMultipartUpload and CopyObject; reported back on
// every response about the object.
import { randomBytes } from "node:crypto";
import { s3Error } from "../errors.ts";

export const SSE_HEADER = "x-amz-server-side-encryption";
const KMS_KEY_HEADER = "x-amz-server-side-encryption-aws-kms-key-id";
const BUCKET_KEY_HEADER = "x-amz-server-side-encryption-bucket-key-enabled";
/** The key id reported for aws:kms when the request names none (S3 reports the account's AWS managed key). */
export const LOCAL_KMS_KEY_ID = "arn:aws:kms:local:000000000000:key/sluice-embedded";

/**
 * The encryption a write asks for, as the headers to keep with the object
 * (and report on GET/HEAD), or undefined for none. `value(name)` reads a
 * header or a POST form field.
 */
export function requestedEncryption(
  value: (name: string) => string | undefined,
): Record<string, string> | undefined {
  if (value("x-amz-server-side-encryption-customer-algorithm") !== undefined)
    throw s3Error("NotImplemented", "Server-side encryption with customer-provided keys is not supported.");
  const algorithm = value(SSE_HEADER);
  const kmsKeyId = value(KMS_KEY_HEADER);
  const bucketKey = value(BUCKET_KEY_HEADER);
  if (algorithm === undefined) {
    if (kmsKeyId !== undefined || bucketKey !== undefined)
      throw s3Error(
        "InvalidArgument",
        "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
      );
    return undefined;
  }
  if (algorithm === "AES256") {
    if (kmsKeyId !== undefined)
      throw s3Error(
        "InvalidArgument",
        "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
      );
    return { [SSE_HEADER]: "AES256" };
  }
  if (algorithm === "aws:kms" || algorithm === "aws:kms:dsse") {
    if (bucketKey !== undefined && !/^(true|false)$/i.test(bucketKey))
      throw s3Error(
        "InvalidArgument",
        "The header x-amz-server-side-encryption-bucket-key-enabled must be true or false.",
      );
    return {
      [SSE_HEADER]: algorithm,
      [KMS_KEY_HEADER]: kmsKeyId ?? LOCAL_KMS_KEY_ID,
      ...(bucketKey?.toLowerCase() === "true" ? { [BUCKET_KEY_HEADER]: "true" } : {}),
    };
  }
  throw s3Error("InvalidArgument", "The encryption method specified is not supported");
}

/** The encryption headers among an object's (or an upload's) stored headers. */
export function encryptionHeaders(stored: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [SSE_HEADER, KMS_KEY_HEADER, BUCKET_KEY_HEADER]) {
    const value = stored[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

export function isEncrypted(stored: Record<string, string>): boolean {
  return stored[SSE_HEADER] !== undefined;
}

/** Stored headers without their encryption ones (a copy takes its encryption from the request, as S3 does). */
export function withoutEncryption(stored: Record<string, string>): Record<string, string> {
  const { [SSE_HEADER]: _a, [KMS_KEY_HEADER]: _k, [BUCKET_KEY_HEADER]: _b, ...rest } = stored;
  return rest;
}

/**
 * The ETag of a write under SSE-KMS, or undefined for other writes (their ETag
 * is the MD5 of their bytes). S3's ETag of a KMS-encrypted object is not an MD5
 * of its data, and every write, a copy included, gets its own: emulated, so code
 * that compares ETags across a copy fails here, not first on AWS.
 */
export function kmsEtag(headers: Record<string, string>): string | undefined {
  if (!headers[SSE_HEADER]?.startsWith("aws:kms")) return undefined;
  return `"${randomBytes(16).toString("hex")}"`;
}
