// The broker's configuration: one zod schema, parsed once at start-up and then
// passed in. Every field has a default that works on one machine, except the
// storage endpoint and credentials, which `sluice serve` fills in when it starts
// the embedded store.
import { z } from "zod";
import { parseDuration, parseSize } from "./units.ts";

export const size = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const bytes = parseSize(value);
  if (bytes === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `expected a size such as "5MB" (5,000,000 bytes), "5MiB" (5×1024² bytes) or a number of bytes`,
    });
    return z.NEVER;
  }
  return bytes;
});

export const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const seconds = parseDuration(value);
  if (seconds === undefined || seconds <= 0) {
    ctx.addIssue({
      code: "custom",
      message: `expected a duration such as "15m", "30s" or a number of seconds`,
    });
    return z.NEVER;
  }
  return seconds;
});

const token = "[a-z0-9!#$&^_.+-]+";
/** A media type or a wildcard: image/png, image/*, *\/*. */
const mediaPattern = z
  .string()
  .toLowerCase()
  .regex(new RegExp(`^(${token}|\\*)/(${token}|\\*)$`), "expected a media type such as image/png or image/*");

const booleanish = z.union([
  z.boolean(),
  z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1"),
]);
const integerish = z.coerce.number().int();

/** Metadata keys: also the `metadata.<key>` query parameter of GET /v1/files. */
export const metadataKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "metadata keys: 1-64 letters, digits, _ and -");

/**
 * What a profile asks of an upload's metadata: keys that must be present, and
 * (optionally) the only keys allowed, each with its value type.
 */
const metadataRulesSchema = z
  .object({
    required: z.array(metadataKey).default([]),
    /** Allowed keys and their types; any other key is refused. Unset: any key. */
    keys: z.record(metadataKey, z.enum(["string", "number", "boolean"])).optional(),
  })
  .strict()
  .refine((m) => !m.keys || m.required.every((k) => k in m.keys!), {
    message: "every required key must be listed in keys",
    path: ["required"],
  });

export const profileSchema = z
  .object({
    minSize: size.prefault(0),
    maxSize: size.prefault("5GiB"),
    /** Allowed declared types; wildcards allowed. */
    types: z.array(mediaPattern).min(1).prefault(["*/*"]),
    /** put: one presigned PUT; post: browser form policy; multipart: parts; auto: PUT below multipartThreshold. */
    method: z.enum(["put", "post", "multipart", "auto"]).default("auto"),
    /** Preferred multipart part size; raised when the file would need more than 10,000 parts. */
    partSize: size.prefault("8MiB"),
    multipartThreshold: size.prefault("64MiB"),
    grantExpiry: duration.prefault("15m"),
    /** How long a multipart upload may take from grant to completion (its part URLs are signed lazily). */
    multipartLifetime: duration.prefault("24h"),
    /** A multipart upload with no part stored for this long (counted from the grant before the first part) is aborted. */
    multipartIdle: duration.prefault("6h"),
    downloadExpiry: duration.prefault("5m"),
    /** Extra key segment before the tenant, e.g. "avatars". */
    keyPrefix: z
      .string()
      .regex(/^([a-z0-9][a-z0-9._-]*)?$/i, "letters, digits, '.', '_' and '-' only")
      .default(""),
    /** Sniff the first bytes against the declared type before a file becomes ready. */
    verify: z.boolean().default(true),
    /** Names of image derivatives (presets of the top-level `derivatives`) made for image uploads. */
    derivatives: z.array(z.string()).optional(),
    /** Scan every upload with clamd (`scanning.clamd`) before it becomes ready. */
    scan: z.boolean().default(false),
    /** When clamd stays unreachable past the retry budget, let the file become ready unscanned (audited) instead of rejecting it. */
    scanFailOpen: z.boolean().default(false),
    /** Re-encode JPEG, PNG, WebP, GIF, AVIF and TIFF images without EXIF/XMP/IPTC (GPS), orientation applied. */
    stripMetadata: z.boolean().default(false),
    /** Rules for the `metadata` of uploads with this profile. */
    metadata: metadataRulesSchema.optional(),
    /** Server-side encryption storage must apply: signed into every grant, so an upload without it is refused. */
    encryption: z.enum(["none", "AES256", "aws:kms"]).default("none"),
    /** aws:kms only: the KMS key (id, ARN or alias); default the bucket's AWS managed key. */
    kmsKeyId: z.string().min(1).optional(),
    /** aws:kms only: use an S3 Bucket Key (fewer KMS calls). */
    bucketKey: z.boolean().optional(),
  })
  .strict()
  .refine((p) => p.minSize <= p.maxSize, { message: "minSize is larger than maxSize", path: ["minSize"] })
  .refine((p) => p.encryption === "aws:kms" || (p.kmsKeyId === undefined && p.bucketKey === undefined), {
    message: "kmsKeyId and bucketKey need encryption: aws:kms",
    path: ["encryption"],
  });

const derivativeName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]*$/i, "derivative names: letters, digits, _ and -");

/** One image derivative: the original resized to fit a box and re-encoded. */
export const derivativePresetSchema = z
  .object({
    width: z.number().int().min(1).max(4096),
    height: z.number().int().min(1).max(4096),
    /** How the image fits the box, as CSS object-fit (sharp's names). */
    fit: z.enum(["cover", "contain", "fill", "inside", "outside"]).default("cover"),
    format: z.enum(["webp", "jpeg", "png", "avif"]).default("webp"),
    quality: z.number().int().min(1).max(100).default(80),
  })
  .strict();

/** Presets every deployment has; a configured preset of the same name replaces it. */
export const BUILTIN_DERIVATIVES = {
  "thumb-256": { width: 256, height: 256, fit: "cover", format: "webp", quality: 80 },
} as const satisfies Record<string, z.output<typeof derivativePresetSchema>>;

export const WEBHOOK_EVENT_TYPES = [
  "file.ready",
  "file.rejected",
  "file.deleted",
  "upload.expired",
  "link.used",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** A Standard Webhooks secret: `whsec_` and the base64 of the key. */
const webhookSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/, "expected a Standard Webhooks secret: whsec_ and base64");

const webhookEndpointSchema = z
  .object({
    url: z.url(),
    /** Every active secret signs each message (rotation: add the new one, later drop the old one). */
    secrets: z.array(webhookSecret).min(1),
    /** Event types sent; default all. */
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).optional(),
    /** Only events of files with these profiles; default all. */
    profiles: z.array(z.string()).min(1).optional(),
  })
  .strict();

const jwtAlgorithm = z.enum([
  "HS256",
  "HS384",
  "HS512",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
]);

export const configSchema = z
  .object({
    /** All state lives here: SQLite file, generated secrets. */
    dataDir: z.string().min(1).default(".sluice"),
    server: z
      .object({
        host: z.string().min(1).default("127.0.0.1"),
        port: integerish.min(0).max(65535).default(8080),
        /** URL clients reach the broker at (share links, form redirects, the page's origin, OpenAPI servers); default: the request's origin. Set it behind a reverse proxy or TLS terminator. */
        publicUrl: z.url().optional(),
        /** Take the client address from X-Forwarded-For (only behind a proxy that sets it). */
        trustProxy: booleanish.default(false),
        /** Largest JSON body accepted by the API. */
        bodyLimit: size.prefault("64KiB"),
      })
      .strict()
      .prefault({}),
    /** The embedded store `sluice serve` starts when storage.endpoint is not set. */
    store: z
      .object({
        /** Accept legacy Signature Version 2 (presigned URLs, `AWS key:sig`, SHA-1 POST policies) as RGW and old S3 regions do. */
        allowSignatureV2: booleanish.default(false),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        endpoint: z.url().optional(),
        /** Endpoint put in presigned URLs, when clients reach storage by another address than the broker (default: endpoint; `sluice serve --host 0.0.0.0` derives this machine's address). */
        publicEndpoint: z.url().optional(),
        bucket: z
          .string()
          .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "expected an S3 bucket name")
          .default("sluice"),
        region: z.string().min(1).default("us-east-1"),
        accessKeyId: z.string().min(1).optional(),
        secretAccessKey: z.string().min(1).optional(),
        sessionToken: z.string().min(1).optional(),
        forcePathStyle: booleanish.default(true),
        /** Embedded store (`sluice serve`): below this free space on its disk, /readyz reports storage not ready. */
        minFreeSpace: size.prefault("256MB"),
        capabilities: z
          .object({
            /** Storage honours If-None-Match: * (write-once grants). */
            conditionalWrites: booleanish.default(true),
            /** Storage verifies x-amz-checksum-sha256. */
            checksums: booleanish.default(true),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        /** sqlite:PATH, a file path, or postgres://… ; default sqlite {dataDir}/sluice.db */
        url: z.string().min(1).optional(),
        /** PostgreSQL only: connections per broker process. */
        poolSize: integerish.min(1).max(1000).prefault(10),
        /** PostgreSQL only: a statement running longer is cancelled. */
        statementTimeout: duration.prefault("30s"),
        /** PostgreSQL only: how long a request waits for a free or new connection before failing with 503. */
        connectTimeout: duration.prefault("5s"),
      })
      .strict()
      .prefault({}),
    profiles: z
      .record(
        z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, "profile names: letters, digits, _ and -"),
        profileSchema,
      )
      .optional(),
    auth: z
      .object({
        jwt: z
          .object({
            /** HS256 shared secret (at least 32 characters). Generated into dataDir when neither secret nor jwksUrl is set. */
            secret: z.string().min(32, "must be at least 32 characters").optional(),
            /** JWKS of an identity provider (Cognito, Auth0, Okta) for RS256/ES256 tokens. */
            jwksUrl: z.url().optional(),
            issuer: z.string().optional(),
            audience: z.union([z.string(), z.array(z.string())]).optional(),
            algorithms: z.array(jwtAlgorithm).min(1).optional(),
            tenantClaim: z.string().default("tenant"),
            userClaim: z.string().default("sub"),
            /** Tenant for tokens without a tenant claim; without it such tokens are refused. */
            defaultTenant: z.string().optional(),
          })
          .strict()
          .prefault({}),
        apiKeys: booleanish.default(true),
        /** Mint a development token at start-up when the secret was generated locally. */
        devToken: booleanish.default(true),
      })
      .strict()
      .prefault({}),
    cors: z
      .object({ origins: z.array(z.string().min(1)).default([]) })
      .strict()
      .prefault({}),
    quotas: z
      .object({
        maxBytesPerUser: size.optional(),
        maxPendingPerUser: integerish.min(1).optional(),
      })
      .strict()
      .prefault({}),
    rateLimits: z
      .object({
        grantsPerMinutePerUser: integerish.min(1).optional(),
        requestsPerMinutePerIp: integerish.min(1).optional(),
        /** Where the counters live: memory (this process), postgres (the metadata database) or redis://… (shared by every broker). */
        store: z
          .union([
            z.enum(["memory", "postgres"]),
            z.string().regex(/^rediss?:\/\//, "memory, postgres or a redis:// URL"),
          ])
          .prefault("memory"),
        /** When the counter store cannot answer: closed refuses with 503, open lets the request through. */
        whenStoreDown: z
          .object({
            grants: z.enum(["closed", "open"]).prefault("closed"),
            requests: z.enum(["closed", "open"]).prefault("open"),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    links: z
      .object({
        /** Lifetime of the presigned GET a share link redirects to (at most 60 s). */
        redirectExpiry: duration.prefault(30).refine((s) => s <= 60, "at most 60 seconds"),
        maxExpiry: duration.prefault("30d"),
      })
      .strict()
      .prefault({}),
    events: z
      .object({
        /** Shared secret storage sends as `Authorization: Bearer …` to POST /v1/events/s3; unset disables the endpoint. */
        token: z.string().min(32, "must be at least 32 characters").optional(),
      })
      .strict()
      .prefault({}),
    sweeper: z
      .object({
        /** How often expired grants, abandoned multipart uploads and stray objects are cleaned up. */
        interval: duration.prefault("1m"),
        /** Objects and multipart uploads unknown to the broker are removed once older than this. */
        strayAge: duration.prefault("1d"),
      })
      .strict()
      .prefault({}),
    /** Named image derivative presets that profiles list by name (thumb-256 is built in). */
    derivatives: z
      .record(derivativeName, derivativePresetSchema)
      .prefault({})
      .transform(
        (presets): Record<string, z.output<typeof derivativePresetSchema>> => ({
          ...BUILTIN_DERIVATIVES,
          ...presets,
        }),
      ),
    images: z
      .object({
        /** Largest image (width × height) decoded for derivatives; bigger ones are rejected (decompression bombs). */
        maxPixels: integerish.min(1).default(100_000_000),
        /** Quality of lossy re-encodes (JPEG, WebP, AVIF) when metadata is stripped. */
        stripQuality: integerish.min(1).max(100).default(90),
      })
      .strict()
      .prefault({}),
    /** Malware scanning with ClamAV's clamd (profiles opt in with `scan: true`). */
    scanning: z
      .object({
        clamd: z
          .union([
            z
              .object({ host: z.string().min(1).default("127.0.0.1"), port: integerish.min(1).max(65535) })
              .strict(),
            z.object({ socket: z.string().min(1) }).strict(),
          ])
          .optional(),
        /** Longest clamd may stay silent (connecting, receiving, scanning) before the scan is retried. */
        timeout: duration.prefault("60s"),
        /** clamd's StreamMaxLength: larger files are never sent to clamd but handled by `oversize`. */
        maxSize: size.prefault("25MB"),
        /** A file larger than maxSize: reject it, or let it through unscanned with an audit record. */
        oversize: z.enum(["reject", "skip"]).default("reject"),
      })
      .strict()
      .prefault({}),
    /** The durable worker that runs every upload's pipeline steps (checksum, sniff, scan, strip, derivatives). */
    jobs: z
      .object({
        /** How long a broker holds a job before another may take it over (renewed while it runs). */
        leaseTime: duration.prefault("60s"),
        /**
         * Names this broker's job leases; a restart with the same id takes its leases back at once.
         * Default: derived from the host name and the data directory. Give each broker its own.
         */
        workerId: z.string().min(1).max(200).optional(),
        /** Jobs (pipeline steps, deletions) run at the same time by one broker. */
        concurrency: integerish.min(1).max(256).default(4),
        /** Tries of one job before it gives up (a scan then rejects, or fails open): about 4 minutes of retries by default. */
        attempts: integerish.min(1).max(100).default(8),
        /** Wait before the first retry; doubled each time up to maxRetryDelay. */
        retryDelay: duration.prefault("2s"),
        maxRetryDelay: duration.prefault("5m"),
      })
      .strict()
      .prefault({}),
    webhooks: z
      .object({
        /** Shorthand for one endpoint named `default` (all events, all profiles). */
        url: z.url().optional(),
        /** The `default` endpoint's secrets. */
        secrets: z.array(webhookSecret).min(1).optional(),
        /** Named endpoints of the application; the name is what the delivery log shows. */
        endpoints: z
          .record(
            z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, "endpoint names: letters, digits, _ and -"),
            webhookEndpointSchema,
          )
          .prefault({}),
        /** How long delivered (or given up) events and their delivery log are kept. */
        retention: duration.prefault("30d"),
        /** Time one attempt may take (connect, send, answer). */
        timeout: duration.prefault("10s"),
        retry: z
          .object({
            /** Wait before the first retry; doubled on each failure up to `max`. */
            initial: duration.prefault("5s"),
            max: duration.prefault("1h"),
            /** A delivery still failing this long after its event is given up. */
            giveUpAfter: duration.prefault("24h"),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .refine((w) => (w.url === undefined) === (w.secrets === undefined), {
        message: "url and secrets go together",
        path: ["secrets"],
      })
      .transform(({ url, secrets, ...webhooks }) =>
        url && secrets
          ? { ...webhooks, endpoints: { default: { url, secrets }, ...webhooks.endpoints } }
          : webhooks,
      )
      .prefault({}),
    log: z
      .object({
        level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.rateLimits.store === "postgres" && !/^postgres(ql)?:\/\//i.test(config.database.url ?? "")) {
      ctx.addIssue({
        code: "custom",
        path: ["rateLimits", "store"],
        message:
          "postgres keeps the counters in the metadata database: set database.url to a postgres:// URL, or use memory or redis://…",
      });
    }
    for (const [name, profile] of Object.entries(config.profiles ?? {})) {
      if (profile.scan && !config.scanning.clamd)
        ctx.addIssue({
          code: "custom",
          path: ["profiles", name, "scan"],
          message: "scan: true needs scanning.clamd ({host, port} or {socket})",
        });
      for (const [i, derivative] of (profile.derivatives ?? []).entries()) {
        if (Object.hasOwn(config.derivatives, derivative)) continue;
        ctx.addIssue({
          code: "custom",
          path: ["profiles", name, "derivatives", i],
          message: `unknown derivative "${derivative}" (known: ${Object.keys(config.derivatives).join(", ")})`,
        });
      }
    }
    for (const [name, endpoint] of Object.entries(config.webhooks.endpoints)) {
      for (const [i, profile] of (endpoint.profiles ?? []).entries()) {
        if (!config.profiles || profile in config.profiles) continue;
        ctx.addIssue({
          code: "custom",
          path: ["webhooks", "endpoints", name, "profiles", i],
          message: `unknown profile "${profile}"`,
        });
      }
    }
  });

export type DerivativePreset = z.output<typeof derivativePresetSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type Profile = z.output<typeof profileSchema>;

/** The validated configuration, with defaults applied and profiles always present. */
export type BrokerConfig = Omit<ParsedConfig, "profiles"> & { profiles: Record<string, Profile> };

export const DEFAULT_PROFILES: Record<string, z.input<typeof profileSchema>> = {
  default: { maxSize: "5GiB", types: ["*/*"], method: "auto" },
};
