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
import type { Credentials } from "./presign.ts";
import { deriveSigningKey } from "./signing-key.ts";
import { splitUrl } from "./url.ts";

export interface SignHeadersOptions {
  method: string;
  url: string | URL;
  /** Headers the request will carry; all of them are signed. */
  headers?: Record<string, string>;
  /** Hex SHA-256 of the body, or UNSIGNED-PAYLOAD (default). */
  payloadHash?: string;
  credentials: Credentials;
  region: string;
  service?: string;
  now?: Date;
}

/**
 * Signs a request in the Authorization header. Returns every header to send:
 * the given ones plus host, x-amz-date, x-amz-content-sha256, the session
 * token when there is one, and authorization.
 */
export function signHeaders(options: SignHeadersOptions): Record<string, string> {
  const service = options.service ?? "s3";
  const { dateTime, date } = amzDate(options.now ?? new Date());
  const { host, rawPath, query } = splitUrl(options.url);
  const payloadHash = options.payloadHash ?? UNSIGNED_PAYLOAD;

  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name.toLowerCase(), value);
  headers.set("host", host);
  headers.set("x-amz-date", dateTime);
  headers.set("x-amz-content-sha256", payloadHash);
  if (options.credentials.sessionToken) headers.set("x-amz-security-token", options.credentials.sessionToken);
  const signedHeaders = [...headers.keys()].sort();

  const scope = credentialScope(date, options.region, service);
  const request = canonicalRequest({
    method: options.method.toUpperCase(),
    path: canonicalPath(rawPath),
    query: canonicalQuery(query),
    signedHeaders,
    header: (name) => headers.get(name),
    payloadHash,
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
  const result = Object.fromEntries(headers);
  result.authorization = `${ALGORITHM} Credential=${options.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(";")}, Signature=${signature}`;
  return result;
}
