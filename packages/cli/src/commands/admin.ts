/**
 * Commands run on the broker's side with its configuration (file + SLUICE_*
 * environment), not through the API: `apikey create`, `setup`, `policy`.
 */
import { resolve } from "node:path";
import type { BrokerConfig } from "@sluice/broker";
import { errors } from "@sluice/core";
import { Command } from "commander";
import { globalFlags, printJson } from "../context.ts";
import { usageError } from "../exit-codes.ts";

interface ConfigFlags {
  config?: string;
  data?: string;
}

function withConfigFlags(command: Command): Command {
  return command
    .option("-c, --config <file>", "broker configuration, YAML or JSON")
    .option("-d, --data <dir>", "broker data directory (default ./.sluice, or SLUICE_DATA_DIR)");
}

async function brokerConfig(
  flags: ConfigFlags,
  overrides: Record<string, unknown> = {},
): Promise<BrokerConfig> {
  const { loadConfig } = await import("@sluice/broker");
  const dataDir = flags.data ?? process.env.SLUICE_DATA_DIR;
  return loadConfig({
    file: flags.config,
    env: process.env,
    overrides: { ...(dataDir ? { dataDir: resolve(dataDir) } : {}), ...overrides },
  });
}

export function apikeyCommand(): Command {
  const apikey = new Command("apikey").description(
    "manage API keys of every tenant (run where the broker's database is; through the API, GET/DELETE /v1/api-keys, a server key manages its own tenant's)",
  );
  apikey.addCommand(
    withConfigFlags(new Command("create"))
      .description("create an API key for a tenant and user; the key is shown once")
      .requiredOption("--tenant <tenant>", "tenant the key belongs to")
      .requiredOption("--user <user>", "user the key acts as")
      .option("--name <name>", "label, e.g. the machine using it")
      .option(
        "--server",
        "scope server: the application's backend, tenant-wide (acts on behalf of any user, reads the audit log, mints tokens)",
      )
      .action(
        async (
          flags: ConfigFlags & { tenant: string; user: string; name?: string; server?: boolean },
          command: Command,
        ) => {
          const { createApiKey } = await import("@sluice/broker");
          const key = await createApiKey(await brokerConfig(flags), {
            tenant: flags.tenant,
            user: flags.user,
            scope: flags.server ? "server" : "user",
            ...(flags.name ? { name: flags.name } : {}),
          });
          if (globalFlags(command).json) return printJson(key);
          process.stdout.write(
            `${flags.server ? "Server" : "API"} key ${key.id} for ${flags.tenant}/${flags.user}:\n${key.key}\nIt is shown only now; store it in a secret manager.\n`,
          );
        },
      ),
  );
  apikey.addCommand(
    withConfigFlags(new Command("list"))
      .description("list API keys (ids, owners, labels; never the keys), newest first")
      .option("--tenant <tenant>", "only this tenant's keys")
      .option("--user <user>", "only this user's keys")
      .action(async (flags: ConfigFlags & { tenant?: string; user?: string }, command: Command) => {
        const { listApiKeysIn } = await import("@sluice/broker");
        const keys = await listApiKeysIn(await brokerConfig(flags), {
          ...(flags.tenant ? { tenant: flags.tenant } : {}),
          ...(flags.user ? { user: flags.user } : {}),
        });
        if (globalFlags(command).json) return printJson(keys);
        if (keys.length === 0) return void process.stdout.write("no API keys\n");
        for (const key of keys) {
          const state = key.revokedAt ? `revoked ${key.revokedAt}` : "live";
          process.stdout.write(
            `${key.id}  ${key.tenant}/${key.user}  ${key.name || "-"}  created ${key.createdAt}  ${state}\n`,
          );
        }
      }),
  );
  apikey.addCommand(
    withConfigFlags(new Command("revoke"))
      .description("revoke an API key: every broker on this database refuses it from its next request")
      .argument("<id>", "key id, as printed by create or list")
      .action(async (id: string, flags: ConfigFlags, command: Command) => {
        const { revokeApiKeyById } = await import("@sluice/broker");
        if (!(await revokeApiKeyById(await brokerConfig(flags), id))) {
          throw errors.notFound(`No live API key ${id}`, "NoSuchApiKey");
        }
        if (globalFlags(command).json) return printJson({ revoked: id });
        process.stdout.write(`revoked ${id}\n`);
      }),
  );
  return apikey;
}

export function setupCommand(): Command {
  return withConfigFlags(new Command("setup"))
    .description("create the bucket and apply CORS (allowed origins) and lifecycle rules, on any S3 endpoint")
    .option(
      "--endpoint <url>",
      "S3 endpoint, e.g. https://s3.eu-west-1.amazonaws.com (or SLUICE_STORAGE_ENDPOINT)",
    )
    .option("--bucket <name>", "bucket (or SLUICE_STORAGE_BUCKET)")
    .option("--region <region>", "region (or SLUICE_STORAGE_REGION)")
    .option(
      "--cors-origin <origin...>",
      "browser origins allowed to upload, added to those the bucket allows (or SLUICE_CORS_ORIGINS)",
    )
    .option("--replace", "replace the bucket's CORS origins with --cors-origin instead of adding to them")
    .option(
      "--events-url <url>",
      "Ceph RGW: create a topic pushing new-object events to this URL (the broker's /v1/events/s3; needs events.token)",
    )
    .option(
      "--events-arn <arn>",
      "MinIO and others: send new-object events to the target storage knows by this ARN",
    )
    .action(
      async (
        flags: ConfigFlags & {
          endpoint?: string;
          bucket?: string;
          region?: string;
          corsOrigin?: string[];
          eventsUrl?: string;
          eventsArn?: string;
          replace?: boolean;
        },
        command: Command,
      ) => {
        const storage = {
          ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
          ...(flags.bucket ? { bucket: flags.bucket } : {}),
          ...(flags.region ? { region: flags.region } : {}),
          ...(process.env.AWS_ACCESS_KEY_ID && !process.env.SLUICE_STORAGE_ACCESS_KEY_ID
            ? {
                accessKeyId: process.env.AWS_ACCESS_KEY_ID,
                secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
              }
            : {}),
        };
        const config = await brokerConfig(flags, {
          storage,
          ...(flags.corsOrigin ? { cors: { origins: flags.corsOrigin } } : {}),
        });
        if (!config.storage.endpoint) {
          throw usageError("No storage endpoint: pass --endpoint URL or set SLUICE_STORAGE_ENDPOINT");
        }
        const { setupBucket, setupBucketEvents } = await import("@sluice/broker");
        const applied = await setupBucket(config, { replaceCors: flags.replace === true });
        const eventTarget = flags.eventsUrl
          ? { pushEndpoint: flags.eventsUrl }
          : flags.eventsArn
            ? { arn: flags.eventsArn }
            : undefined;
        const events = eventTarget ? (await setupBucketEvents(config, eventTarget)).arn : undefined;
        const summary = {
          endpoint: config.storage.endpoint,
          bucket: config.storage.bucket,
          ...applied,
          lifecycle: "abort incomplete multipart uploads after 2 days",
          events,
        };
        if (globalFlags(command).json) return printJson(summary);
        const removed = summary.removedOrigins.length
          ? `\n  Removed:      ${summary.removedOrigins.join(", ")} (--replace)`
          : "";
        process.stdout.write(
          `Bucket ${summary.bucket} on ${summary.endpoint} is ready.\n  CORS origins: ${summary.corsOrigins.join(", ") || "(none: browsers cannot upload)"}${removed}\n  Lifecycle:    ${summary.lifecycle}\n${events ? `  Events:       new objects notify ${events}\n` : ""}`,
        );
      },
    );
}

export function policyCommand(): Command {
  return withConfigFlags(new Command("policy"))
    .description("print the least-privilege IAM policy the broker needs for its bucket and profiles")
    .option("--bucket <name>", "bucket (default: from the configuration)")
    .option("--setup", "also allow what `sluice setup` does (create bucket, CORS, lifecycle)")
    .action(async (flags: ConfigFlags & { bucket?: string; setup?: boolean }) => {
      const config = await brokerConfig(flags, flags.bucket ? { storage: { bucket: flags.bucket } } : {});
      printJson(
        iamPolicy({ bucket: config.storage.bucket, profiles: config.profiles, setup: flags.setup === true }),
      );
    });
}

/**
 * Objects: write (PUT, POST, every multipart step is s3:PutObject), read
 * (HEAD, presigned GET, sniffing), delete (rejected and deleted files) and
 * multipart abort/listing, limited to the profiles' key prefixes.
 */
export function iamPolicy(options: {
  bucket: string;
  profiles: Record<string, { keyPrefix: string }>;
  setup: boolean;
}) {
  const bucketArn = `arn:aws:s3:::${options.bucket}`;
  const prefixes = Object.values(options.profiles).map((profile) => profile.keyPrefix);
  const objects = prefixes.includes("")
    ? [`${bucketArn}/*`]
    : [...new Set(prefixes)].sort().map((prefix) => `${bucketArn}/${prefix}/*`);
  const statements: Array<Record<string, unknown>> = [
    {
      Sid: "SluiceObjects",
      Effect: "Allow",
      Action: [
        "s3:PutObject",
        "s3:GetObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
      ],
      Resource: objects,
    },
    {
      Sid: "SluiceBucket",
      Effect: "Allow",
      Action: ["s3:ListBucket", "s3:ListBucketMultipartUploads"],
      Resource: [bucketArn],
    },
  ];
  if (options.setup) {
    statements.push({
      Sid: "SluiceSetup",
      Effect: "Allow",
      Action: ["s3:CreateBucket", "s3:PutBucketCORS", "s3:PutLifecycleConfiguration"],
      Resource: [bucketArn],
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}
