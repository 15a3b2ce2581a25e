// Bucket setup: created on start-up when missing; `sluice setup` also applies
// the CORS allowlist and a lifecycle rule that aborts abandoned multipart uploads.
import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { putCors } from "./cors.ts";
import { isNotFound } from "./s3.ts";

export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw error;
  }
}

export async function applyBucketPolicies(
  s3: S3Client,
  options: { bucket: string; corsOrigins: string[]; abortMultipartAfterDays?: number },
): Promise<void> {
  if (options.corsOrigins.length > 0)
    await putCors(s3, { bucket: options.bucket, origins: options.corsOrigins });
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: options.bucket,
      LifecycleConfiguration: {
        Rules: [
          {
            ID: "sluice-abort-incomplete-multipart",
            Status: "Enabled",
            Filter: { Prefix: "" },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: options.abortMultipartAfterDays ?? 2 },
          },
        ],
      },
    }),
  );
}
