// Operations the CLI runs without a running broker: API keys, tokens, bucket setup.
import { PutBucketNotificationConfigurationCommand } from "@aws-sdk/client-s3";
import { errors } from "@sluice/core";
import { issueApiKey } from "./auth/apiKeys.ts";
import { signToken } from "./auth/jwt.ts";
import { resolveJwtSecret } from "./auth/secret.ts";
import type { BrokerConfig } from "./config/schema.ts";
import { defaultDatabaseUrl, openDatabase } from "./db/open.ts";
import { applyBucketPolicies, ensureBucket } from "./storage/bucket.ts";
import { createS3Client } from "./storage/s3.ts";
import { storageTarget } from "./storage/target.ts";

/** Creates an API key for tenant/user (scope server: tenant-wide, the application's backend); the key is returned once and stored hashed. */
export async function createApiKey(
  config: BrokerConfig,
  options: { tenant: string; user: string; name?: string; scope?: "user" | "server" },
): Promise<{ id: string; key: string }> {
  const database = await openDatabase(config.database.url ?? defaultDatabaseUrl(config.dataDir));
  try {
    return await issueApiKey(database.db, options);
  } finally {
    await database.close();
  }
}

/** Signs an HS256 token with the configured or generated secret (not possible with JWKS-only auth). */
export async function mintToken(
  config: BrokerConfig,
  options: { tenant: string; user: string; expiresIn?: string | number },
): Promise<string> {
  const secret = resolveJwtSecret(config);
  if (!secret)
    throw errors.badRequest(
      "Tokens come from the identity provider when auth.jwt.jwksUrl is set",
      "NoSecret",
    );
  return signToken({ secret: secret.secret, jwt: config.auth.jwt, ...options });
}

/** Creates the bucket, applies the CORS allowlist and the abort-incomplete-multipart lifecycle rule. */
export async function setupBucket(config: BrokerConfig): Promise<void> {
  const target = storageTarget(config);
  const s3 = createS3Client(target);
  try {
    await ensureBucket(s3, target.bucket);
    await applyBucketPolicies(s3, { bucket: target.bucket, corsOrigins: config.cors.origins });
  } finally {
    s3.destroy();
  }
}

/**
 * Asks storage to notify the broker of new objects: a bucket notification
 * configuration sending s3:ObjectCreated:* to `arn` (a webhook target the
 * store or MinIO knows by that ARN, pointing at POST /v1/events/s3).
 */
export async function setupBucketEvents(config: BrokerConfig, options: { arn: string }): Promise<void> {
  const target = storageTarget(config);
  const s3 = createS3Client(target);
  try {
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: target.bucket,
        NotificationConfiguration: {
          TopicConfigurations: [
            { Id: "sluice-broker", TopicArn: options.arn, Events: ["s3:ObjectCreated:*"] },
          ],
        },
      }),
    );
  } finally {
    s3.destroy();
  }
}
