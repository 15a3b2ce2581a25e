import { SluiceError } from "@sluice/core";
import { ALGORITHM } from "./canonical.ts";
import { hmacSha256 } from "./encoding.ts";
import { deriveSigningKey } from "./signing-key.ts";
import { signV2 } from "./sigv2.ts";
import { sameSignature } from "./verify.ts";

/**
 * The verifying side of browser POST uploads (S3 "Authenticating Requests in
 * Browser-Based Uploads Using POST"): the signature over the base64 policy,
 * its expiration, and every condition against the form fields. Signing is
 * createPresignedPost (post-policy.ts).
 */
export interface PostPolicyCheckOptions {
  /** Form fields by lower-case name, the file excluded, `key` before `${filename}` substitution. */
  fields: ReadonlyMap<string, string>;
  /** The bucket the form was posted to. */
  bucket: string;
  secretFor: (accessKeyId: string) => string | undefined;
  region: string;
  service?: string;
  /** Accept policies signed with HMAC-SHA1 (AWSAccessKeyId + signature fields). Default false. */
  allowSignatureV2?: boolean;
  now?: Date;
}

export interface CheckedPostPolicy {
  accessKeyId: string;
  scheme: "sigv4" | "sigv2";
  /** From a content-length-range condition: the caller enforces it on the streamed file. */
  contentLengthRange?: { min: number; max: number };
}

// Fields a policy never has to mention (S3 docs, "Creating a POST Policy").
const UNCOVERED = new Set(["x-amz-signature", "signature", "awsaccesskeyid", "file", "policy"]);

const denied = (why: string) =>
  new SluiceError({ code: "AccessDenied", status: 403, message: `Invalid according to Policy: ${why}` });
const invalidPolicy = (why: string) =>
  new SluiceError({ code: "InvalidPolicyDocument", status: 400, message: `Invalid Policy: ${why}` });
const invalidArgument = (message: string) =>
  new SluiceError({ code: "InvalidArgument", status: 400, message });
const mismatch = () =>
  new SluiceError({
    code: "SignatureDoesNotMatch",
    status: 403,
    message: "The request signature we calculated does not match the signature you provided.",
  });
const unknownKey = () =>
  new SluiceError({
    code: "InvalidAccessKeyId",
    status: 403,
    message: "The AWS Access Key Id you provided does not exist in our records.",
  });

interface Policy {
  expiration: number;
  conditions: unknown[];
}

function decodePolicy(encoded: string): Policy {
  let document: unknown;
  try {
    if (!/^[A-Za-z0-9+/=\s]*$/.test(encoded)) throw new Error("not base64");
    document = JSON.parse(Buffer.from(encoded, "base64").toString("utf8"));
  } catch {
    throw invalidPolicy("Invalid JSON.");
  }
  if (typeof document !== "object" || document === null) throw invalidPolicy("Invalid JSON.");
  const { expiration, conditions } = document as { expiration?: unknown; conditions?: unknown };
  if (typeof expiration !== "string") throw invalidPolicy("Policy missing expiration.");
  const expires = Date.parse(expiration);
  if (Number.isNaN(expires)) throw invalidPolicy(`Invalid 'expiration' value: '${expiration.slice(0, 64)}'`);
  if (!Array.isArray(conditions)) throw invalidPolicy("Policy missing conditions.");
  return { expiration: expires, conditions };
}

/** Verifies who signed the policy; returns the access key id and the scheme. */
function verifySignature(options: PostPolicyCheckOptions, encodedPolicy: string): CheckedPostPolicy {
  const { fields } = options;
  const v4Signature = fields.get("x-amz-signature");
  if (v4Signature !== undefined) {
    if (fields.get("x-amz-algorithm") !== ALGORITHM)
      throw invalidArgument(`X-Amz-Algorithm only supports "${ALGORITHM}".`);
    const [accessKeyId = "", date = "", region, service, terminator, ...extra] = (
      fields.get("x-amz-credential") ?? ""
    ).split("/");
    if (!accessKeyId || !/^\d{8}$/.test(date) || terminator !== "aws4_request" || extra.length > 0)
      throw invalidArgument("Invalid X-Amz-Credential.");
    if (region !== options.region || service !== (options.service ?? "s3"))
      throw invalidArgument(`Invalid X-Amz-Credential: the region must be '${options.region}'.`);
    if (!(fields.get("x-amz-date") ?? "").startsWith(date))
      throw invalidArgument("X-Amz-Date does not match the date of X-Amz-Credential.");
    const secret = options.secretFor(accessKeyId);
    if (secret === undefined) throw unknownKey();
    const key = deriveSigningKey({ secretAccessKey: secret, date, region, service });
    const expected = hmacSha256(key, encodedPolicy).toString("hex");
    if (!sameSignature(expected, v4Signature.toLowerCase())) throw mismatch();
    return { accessKeyId, scheme: "sigv4" };
  }
  const v2Signature = fields.get("signature");
  const v2Key = fields.get("awsaccesskeyid");
  if (v2Signature !== undefined && v2Key !== undefined) {
    if (!options.allowSignatureV2)
      throw new SluiceError({
        code: "AccessDenied",
        status: 403,
        message: "Signature version 2 is disabled on this store.",
      });
    const secret = options.secretFor(v2Key);
    if (secret === undefined) throw unknownKey();
    if (!sameSignature(signV2(secret, encodedPolicy), v2Signature)) throw mismatch();
    return { accessKeyId: v2Key, scheme: "sigv2" };
  }
  throw invalidArgument("Bucket POST must contain a field named 'X-Amz-Signature' (or 'signature').");
}

function fieldName(reference: unknown): string {
  if (typeof reference !== "string" || !reference.startsWith("$"))
    throw invalidPolicy("Condition field names must start with '$'.");
  return reference.slice(1).toLowerCase();
}

function scalar(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw invalidPolicy("Condition values must be strings.");
}

function whole(value: unknown): number {
  const number = typeof value === "string" && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 0)
    throw invalidPolicy("content-length-range needs two non-negative integers.");
  return number;
}

/**
 * Checks a POST form against its policy: signature, expiration, each
 * condition (exact, eq, starts-with, content-length-range, bucket), and that
 * every field is covered by a condition. Throws a SluiceError with S3's code.
 */
export function checkPostPolicy(options: PostPolicyCheckOptions): CheckedPostPolicy {
  const encodedPolicy = options.fields.get("policy");
  if (encodedPolicy === undefined || encodedPolicy === "")
    throw invalidArgument("Bucket POST must contain a field named 'policy'.");
  const checked = verifySignature(options, encodedPolicy);
  const policy = decodePolicy(encodedPolicy);
  if ((options.now ?? new Date()).getTime() > policy.expiration) throw denied("Policy expired.");

  const value = (name: string) => (name === "bucket" ? options.bucket : (options.fields.get(name) ?? ""));
  const covered = new Set<string>(["bucket"]);
  const failed = (condition: unknown) => denied(`Policy Condition failed: ${JSON.stringify(condition)}`);
  for (const condition of policy.conditions) {
    if (Array.isArray(condition)) {
      const [operator, first, second, ...extra] = condition as unknown[];
      if (extra.length > 0 || condition.length !== 3) throw invalidPolicy("Invalid condition.");
      const op = typeof operator === "string" ? operator.toLowerCase() : "";
      if (op === "content-length-range") {
        const min = whole(first);
        const max = whole(second);
        if (min > max) throw invalidPolicy("content-length-range minimum is above its maximum.");
        checked.contentLengthRange = { min, max };
      } else if (op === "eq" || op === "starts-with") {
        const name = fieldName(first);
        const expected = scalar(second);
        const actual = value(name);
        if (op === "eq" ? actual !== expected : !actual.startsWith(expected)) throw failed(condition);
        covered.add(name);
      } else throw invalidPolicy(`Unknown condition: ${JSON.stringify(operator)}.`);
    } else if (typeof condition === "object" && condition !== null) {
      const entries = Object.entries(condition);
      if (entries.length !== 1) throw invalidPolicy("Each condition object names exactly one field.");
      for (const [name, expected] of entries) {
        const lower = name.toLowerCase();
        if (value(lower) !== scalar(expected)) throw failed(condition);
        covered.add(lower);
      }
    } else throw invalidPolicy("Invalid condition.");
  }
  const extra = [...options.fields.keys()].filter(
    (name) => !covered.has(name) && !UNCOVERED.has(name) && !name.startsWith("x-ignore-"),
  );
  if (extra.length > 0) throw denied(`Extra input fields: ${extra.join(", ")}`);
  return checked;
}
