import {
  ALGORITHM,
  canonicalPath,
  canonicalQuery,
  canonicalRequest,
  credentialScope,
  stringToSign,
  UNSIGNED_PAYLOAD,
} from "./canonical.ts";
import { amzDate, hmacSha256 } from "./encoding.ts";
import { deriveSigningKey } from "./signing-key.ts";
import { splitUrl } from "./url.ts";

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** SigV4 allows presigned URLs to live from 1 second to 7 days. */
export const MAX_PRESIGN_EXPIRY_SECONDS = 604_800;

export interface PresignOptions {
  method: string;
  /** Absolute URL; its query parameters (partNumber, response-*) are signed too. */
  url: string | URL;
  credentials: Credentials;
  region: string;
  /** Default "s3". */
  service?: string;
  /** Seconds, 1..604800. */
  expiresIn: number;
  /**
   * Headers to sign besides `host`. The client must send exactly these values
   * (e.g. content-length, content-type, if-none-match, x-amz-checksum-sha256):
   * that is how a grant pins size, type and write-once.
   */
  headers?: Record<string, string>;
  /** Signing time; default now. */
  now?: Date;
}

/** A presigned grant lives from 1 second to 7 days; anything else is a caller's bug. */
export function checkedExpiry(expiresIn: number): number {
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_PRESIGN_EXPIRY_SECONDS) {
    throw new RangeError(
      `expiresIn must be a whole number of seconds from 1 to ${MAX_PRESIGN_EXPIRY_SECONDS}`,
    );
  }
  return expiresIn;
}

/**
 * A SigV4 presigned URL (query-string auth), built with node:crypto and the
 * cached signing key. Written by hand because the AWS SDK presigner builds a
 * whole middleware stack per URL and manages only a few thousand URLs a second
 * (see `npm run bench`); this is the broker's hot path.
 */
export function presignUrl(options: PresignOptions): string {
  const expiresIn = checkedExpiry(options.expiresIn);
  const service = options.service ?? "s3";
  const { dateTime, date } = amzDate(options.now ?? new Date());
  const { origin, host, rawPath, query } = splitUrl(options.url);

  const headers = new Map<string, string>([["host", host]]);
  for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name.toLowerCase(), value);
  const signedHeaders = [...headers.keys()].sort();
  const scope = credentialScope(date, options.region, service);

  query.push(
    ["X-Amz-Algorithm", ALGORITHM],
    ["X-Amz-Credential", `${options.credentials.accessKeyId}/${scope}`],
    ["X-Amz-Date", dateTime],
    ["X-Amz-Expires", String(expiresIn)],
    ["X-Amz-SignedHeaders", signedHeaders.join(";")],
  );
  if (options.credentials.sessionToken)
    query.push(["X-Amz-Security-Token", options.credentials.sessionToken]);

  const path = canonicalPath(rawPath);
  const queryString = canonicalQuery(query);
  const request = canonicalRequest({
    method: options.method.toUpperCase(),
    path,
    query: queryString,
    signedHeaders,
    header: (name) => headers.get(name),
    payloadHash: UNSIGNED_PAYLOAD,
  });
  const key = deriveSigningKey({
    secretAccessKey: options.credentials.secretAccessKey,
    date,
    region: options.region,
    service,
  });
  const signature = hmacSha256(key, stringToSign({ dateTime, scope, canonicalRequest: request })).toString(
    "hex",
  );
  return `${origin}${path}?${queryString}&X-Amz-Signature=${signature}`;
}
