// A profile's server-side encryption, in the two shapes storage is told it:
// signed request headers / POST policy fields (grants), and AWS SDK command
// parameters (CreateMultipartUpload, the promotion copy). Signed, so a client
// cannot drop it: storage refuses the request whose signature no longer fits.
import type { Profile } from "../config/schema.ts";

type Encryption = Pick<Profile, "encryption" | "kmsKeyId" | "bucketKey">;

export function encryptionHeaders(profile: Encryption): Record<string, string> {
  if (profile.encryption === "none") return {};
  return {
    "x-amz-server-side-encryption": profile.encryption,
    ...(profile.kmsKeyId ? { "x-amz-server-side-encryption-aws-kms-key-id": profile.kmsKeyId } : {}),
    ...(profile.bucketKey ? { "x-amz-server-side-encryption-bucket-key-enabled": "true" } : {}),
  };
}

export function encryptionParams(profile: Encryption): {
  ServerSideEncryption?: "AES256" | "aws:kms";
  SSEKMSKeyId?: string;
  BucketKeyEnabled?: boolean;
} {
  if (profile.encryption === "none") return {};
  return {
    ServerSideEncryption: profile.encryption,
    ...(profile.kmsKeyId ? { SSEKMSKeyId: profile.kmsKeyId } : {}),
    ...(profile.bucketKey ? { BucketKeyEnabled: true } : {}),
  };
}
