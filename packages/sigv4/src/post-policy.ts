import { ALGORITHM, credentialScope } from "./canonical.ts";
import { amzDate, hmacSha256 } from "./encoding.ts";
import { type Credentials, checkedExpiry } from "./presign.ts";
import { deriveSigningKey } from "./signing-key.ts";
import { splitUrl } from "./url.ts";

/**
 * A POST policy condition (S3 browser-based uploads):
 * `{ field: value }` (exact match), `["eq", "$field", value]`,
 * `["starts-with", "$field", prefix]`, `["content-length-range", min, max]`.
 */
export type PolicyCondition =
  | Record<string, string>
  | ["eq" | "starts-with", string, string]
  | ["content-length-range", number, number];

/** S3 replaces it in the key field with the uploaded file's name. */
export const FILENAME_VARIABLE = "$" + "{filename}";

export interface PolicyDocument {
  expiration: string;
  conditions: PolicyCondition[];
}

export interface PresignedPostOptions {
  /** Form action: the bucket URL (path style `endpoint/bucket`, or virtual-hosted). */
  url: string;
  /** Default: the first path segment of `url`. */
  bucket?: string;
  /** Exact key, or a key ending in `${filename}` (then signed as starts-with). */
  key: string;
  credentials: Credentials;
  region: string;
  service?: string;
  expiresIn: number;
  /** Extra form fields; each is also added to the policy as an exact match. */
  fields?: Record<string, string>;
  /** Further conditions, e.g. content-length-range. */
  conditions?: PolicyCondition[];
  now?: Date;
}

export interface PresignedPost {
  url: string;
  fields: Record<string, string>;
}

/** Signs a POST policy with SigV4: Signature = hex(HMAC(signingKey, base64(policy))). */
export function createPresignedPost(options: PresignedPostOptions): PresignedPost {
  const expiresIn = checkedExpiry(options.expiresIn);
  const service = options.service ?? "s3";
  const now = options.now ?? new Date();
  const { dateTime, date } = amzDate(now);
  const bucket = options.bucket ?? decodeURIComponent(splitUrl(options.url).rawPath.split("/")[1] ?? "");
  if (!bucket)
    throw new TypeError("createPresignedPost needs a bucket (option or first path segment of url)");
  const scope = credentialScope(date, options.region, service);

  const fields: Record<string, string> = {
    ...options.fields,
    key: options.key,
    "X-Amz-Algorithm": ALGORITHM,
    "X-Amz-Credential": `${options.credentials.accessKeyId}/${scope}`,
    "X-Amz-Date": dateTime,
  };
  if (options.credentials.sessionToken) fields["X-Amz-Security-Token"] = options.credentials.sessionToken;

  const conditions: PolicyCondition[] = [{ bucket }];
  for (const [name, value] of Object.entries(fields)) {
    if (name === "key" && value.endsWith(FILENAME_VARIABLE)) {
      conditions.push(["starts-with", "$key", value.slice(0, -FILENAME_VARIABLE.length)]);
    } else conditions.push({ [name]: value });
  }
  conditions.push(...(options.conditions ?? []));

  const policy: PolicyDocument = {
    expiration: new Date(now.getTime() + expiresIn * 1000).toISOString(),
    conditions,
  };
  const encodedPolicy = Buffer.from(JSON.stringify(policy), "utf8").toString("base64");
  const key = deriveSigningKey({
    secretAccessKey: options.credentials.secretAccessKey,
    date,
    region: options.region,
    service,
  });
  fields.Policy = encodedPolicy;
  fields["X-Amz-Signature"] = hmacSha256(key, encodedPolicy).toString("hex");
  return { url: options.url, fields };
}
