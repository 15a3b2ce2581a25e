// The bucket's CORS allowlist: browsers may send bytes to storage only from
// these origins. Applied by `sluice setup` and when the Node server starts.
import {
  type CORSConfiguration,
  GetBucketCorsCommand,
  PutBucketCorsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { isUnspecifiedHost, reachableUrl } from "../config/public-address.ts";

export function corsConfiguration(origins: string[]): CORSConfiguration {
  return {
    CORSRules: [
      {
        AllowedOrigins: origins,
        AllowedMethods: ["GET", "PUT", "POST", "HEAD"],
        AllowedHeaders: ["*"],
        // The SDK needs each part's ETag to complete a multipart upload.
        ExposeHeaders: ["ETag", "x-amz-checksum-sha256"],
        MaxAgeSeconds: 3600,
      },
    ],
  };
}

export async function putCors(s3: S3Client, options: { bucket: string; origins: string[] }): Promise<void> {
  await s3.send(
    new PutBucketCorsCommand({
      Bucket: options.bucket,
      CORSConfiguration: corsConfiguration(options.origins),
    }),
  );
}

/** Origins the bucket's CORS rules allow today ([] when it has none). */
export async function currentCorsOrigins(s3: S3Client, bucket: string): Promise<string[]> {
  try {
    const answer = await s3.send(new GetBucketCorsCommand({ Bucket: bucket }));
    return [...new Set((answer.CORSRules ?? []).flatMap((rule) => rule.AllowedOrigins ?? []))];
  } catch (error) {
    if ((error as { name?: string }).name === "NoSuchCORSConfiguration") return [];
    throw error;
  }
}

/**
 * The configured origins, plus the broker's own when it serves the page (the
 * page uploads straight to storage): its public URL, or where it listens,
 * with localhost and 127.0.0.1 as aliases of each other (and this machine's
 * address too when it listens on every interface).
 */
export function pageOrigins(options: { publicUrl?: string; listenUrl: string }): string[] {
  if (options.publicUrl) return [new URL(options.publicUrl).origin];
  const url = new URL(options.listenUrl);
  const unspecified = isUnspecifiedHost(url.hostname);
  if (!unspecified && url.hostname !== "127.0.0.1" && url.hostname !== "localhost") return [url.origin];
  const loopback = [`${url.protocol}//127.0.0.1:${url.port}`, `${url.protocol}//localhost:${url.port}`];
  return unspecified ? [new URL(reachableUrl(url.href)).origin, ...loopback] : loopback;
}
