import type { StoreExtension } from "./context.ts";
import { builtinExtensions } from "./extensions.ts";
import { type NotificationTarget, resolveNotificationTargets } from "./notifications/targets.ts";

export interface StoreCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface StoreOptions {
  /** Directory holding everything the store writes (catalog.sqlite3, blobs/). Created if missing. */
  dataDir: string;
  /** Interface to listen on. Default "127.0.0.1". */
  host?: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** The region requests must be signed for. Default "us-east-1". */
  region?: string;
  /** Access keys accepted by SigV4 verification (several may be active, e.g. during rotation). */
  credentials: StoreCredentials[];
  /**
   * Host names under which `<bucket>.<name>` is virtual-hosted-style addressing.
   * Default ["localhost"], so `http://photos.localhost:9000/key` addresses bucket `photos`.
   */
  virtualHostSuffixes?: string[];
  /** Largest single PUT or part, in bytes. Default 5 GiB, like S3. */
  maxObjectSize?: number;
  /** Further operations and hooks, after the built-in ones (POST uploads, CORS, ACLs, lifecycle, notifications, SigV2). */
  extensions?: StoreExtension[];
  /** Accept legacy Signature Version 2 (presigned query, `AWS key:sig` header, HMAC-SHA1 POST policy). Default false: 403. */
  allowSignatureV2?: boolean;
  /** How long a request body may stall before the request is answered 400 RequestTimeout, in ms. Default 20 s, as S3. */
  bodyTimeoutMs?: number;
  /** How often lifecycle rules are carried out, in ms. Default 1 hour. */
  lifecycleIntervalMs?: number;
  /** How long a lifecycle "day" is, in ms. Default 86,400,000 (tests shorten it). */
  dayMs?: number;
  /** Webhooks that bucket notification configurations may name by ARN. */
  notificationTargets?: NotificationTarget[];
  /** Below this many free bytes on dataDir's disk, health() reports the store not ready. Default 256 MiB. */
  minFreeBytes?: number;
}

/** Options with defaults applied, validated once at start. */
export interface ResolvedOptions extends Required<Omit<StoreOptions, "credentials">> {
  secrets: ReadonlyMap<string, string>;
}

export const GiB = 1024 ** 3;

function positive(value: number | undefined, name: string): number | undefined {
  if (value !== undefined && !(Number.isFinite(value) && value > 0))
    throw new TypeError(`startStore: ${name} must be a positive number of milliseconds`);
  return value;
}

export function resolveOptions(options: StoreOptions): ResolvedOptions {
  if (!options.dataDir) throw new TypeError("startStore: dataDir is required");
  if (!Array.isArray(options.credentials) || options.credentials.length === 0) {
    throw new TypeError("startStore: at least one access key is required in credentials");
  }
  const secrets = new Map<string, string>();
  for (const { accessKeyId, secretAccessKey } of options.credentials) {
    if (!accessKeyId || !secretAccessKey)
      throw new TypeError("startStore: every credential needs accessKeyId and secretAccessKey");
    secrets.set(accessKeyId, secretAccessKey);
  }
  return {
    dataDir: options.dataDir,
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
    region: options.region ?? "us-east-1",
    virtualHostSuffixes: options.virtualHostSuffixes ?? ["localhost"],
    maxObjectSize: options.maxObjectSize ?? 5 * GiB,
    extensions: [...builtinExtensions(), ...(options.extensions ?? [])],
    allowSignatureV2: options.allowSignatureV2 ?? false,
    bodyTimeoutMs: positive(options.bodyTimeoutMs, "bodyTimeoutMs") ?? 20_000,
    lifecycleIntervalMs: positive(options.lifecycleIntervalMs, "lifecycleIntervalMs") ?? 3_600_000,
    dayMs: positive(options.dayMs, "dayMs") ?? 86_400_000,
    notificationTargets: resolveNotificationTargets(options.notificationTargets ?? []),
    minFreeBytes: options.minFreeBytes ?? 256 * 1024 ** 2,
    secrets,
  };
}
