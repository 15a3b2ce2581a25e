// Operations the CLI runs without a running broker: API keys, tokens, bucket setup.
import { PutBucketNotificationConfigurationCommand } from "@aws-sdk/client-s3";
import { errors } from "@sluice/core";
import { issueApiKey } from "./auth/apiKeys.ts";
import { signToken } from "./auth/jwt.ts";
import { resolveJwtSecret } from "./auth/secret.ts";
import type { BrokerConfig } from "./config/schema.ts";
import { listApiKeys, revokeApiKey } from "./db/apiKeys.ts";
import { audit } from "./db/audit.ts";
import { defaultDatabaseUrl, openDatabase } from "./db/open.ts";
import { apiKeyView } from "./routes/apiKeys.ts";
import { applyBucketPolicies, ensureBucket } from "./storage/bucket.ts";
import { currentCorsOrigins } from "./storage/cors.ts";
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

/** API keys (never their secrets), newest first, optionally of one tenant and user. */
export async function listApiKeysIn(
  config: BrokerConfig,
  filter: { tenant?: string; user?: string } = {},
): Promise<Array<ReturnType<typeof apiKeyView>>> {
  const database = await openDatabase(config.database.url ?? defaultDatabaseUrl(config.dataDir));
  try {
    return (await listApiKeys(database.db, filter)).map(apiKeyView);
  } finally {
    await database.close();
  }
}

/** Revokes an API key by id; false when no live key has it. Every broker on the database refuses it next. */
export async function revokeApiKeyById(config: BrokerConfig, id: string): Promise<boolean> {
  const database = await openDatabase(config.database.url ?? defaultDatabaseUrl(config.dataDir));
  try {
    const revoked = await revokeApiKey(database.db, { id });
    if (revoked) await audit(database.db, { action: "apikey.revoke", subject: id, detail: { via: "cli" } });
    return revoked;
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

/**
 * Creates the bucket, applies the CORS allowlist and the abort-incomplete-multipart
 * lifecycle rule. The configured origins are added to those the bucket already
 * allows (a running page's own origin among them) unless `replaceCors` is set.
 */
export async function setupBucket(
  config: BrokerConfig,
  options: { replaceCors?: boolean } = {},
): Promise<{ corsOrigins: string[]; removedOrigins: string[] }> {
  const target = storageTarget(config);
  const s3 = createS3Client(target);
  try {
    await ensureBucket(s3, target.bucket);
    const current = config.cors.origins.length > 0 ? await currentCorsOrigins(s3, target.bucket) : [];
    const corsOrigins = options.replaceCors
      ? config.cors.origins
      : [...new Set([...current, ...config.cors.origins])];
    // Storage's own clean-up never aborts a multipart upload the broker still lets a client finish.
    const longest = Math.max(0, ...Object.values(config.profiles).map((p) => p.multipartLifetime));
    await applyBucketPolicies(s3, {
      bucket: target.bucket,
      corsOrigins,
      abortMultipartAfterDays: Math.max(2, Math.ceil(longest / 86_400) + 1),
    });
    return { corsOrigins, removedOrigins: current.filter((origin) => !corsOrigins.includes(origin)) };
  } finally {
    s3.destroy();
  }
}

/** Where storage sends its notifications: a target it already knows by ARN, or an HTTP endpoint to create a topic for. */
export type EventTarget =
  | { arn: string }
  /** Ceph RGW: a topic (SNS API on the storage endpoint) pushing to the broker's POST /v1/events/s3. */
  | { pushEndpoint: string };

/**
 * Asks storage to notify the broker of new objects: a bucket notification
 * configuration sending s3:ObjectCreated:* to a topic. The embedded store and
 * MinIO know their webhook targets by ARN; on Ceph RGW the topic is created
 * here, persistent (RGW queues and retries while the broker is away), with the
 * events token as its opaque data so the broker can tell the events are genuine.
 */
export async function setupBucketEvents(
  config: BrokerConfig,
  options: EventTarget,
): Promise<{ arn: string }> {
  const target = storageTarget(config);
  const arn = "arn" in options ? options.arn : await createPushTopic(config, options.pushEndpoint);
  const s3 = createS3Client(target);
  try {
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: target.bucket,
        NotificationConfiguration: {
          TopicConfigurations: [{ Id: "sluice-broker", TopicArn: arn, Events: ["s3:ObjectCreated:*"] }],
        },
      }),
    );
  } finally {
    s3.destroy();
  }
  return { arn };
}

async function createPushTopic(config: BrokerConfig, pushEndpoint: string): Promise<string> {
  const token = config.events.token;
  if (!token)
    throw errors.badRequest(
      "events.token must be set for storage to authenticate its events",
      "NoEventsToken",
    );
  const target = storageTarget(config);
  // The SNS API of the storage endpoint itself (RGW serves it beside S3), signed with the storage keys.
  const { CreateTopicCommand, SNSClient } = await import("@aws-sdk/client-sns");
  const sns = new SNSClient({
    endpoint: target.endpoint,
    region: target.region,
    credentials: target.credentials,
  });
  try {
    const created = await sns.send(
      new CreateTopicCommand({
        Name: `sluice-${target.bucket}`,
        Attributes: { "push-endpoint": pushEndpoint, OpaqueData: token, persistent: "true" },
      }),
    );
    if (!created.TopicArn) throw errors.unavailable("Storage created no topic", "StorageUnavailable");
    return created.TopicArn;
  } finally {
    sns.destroy();
  }
}
