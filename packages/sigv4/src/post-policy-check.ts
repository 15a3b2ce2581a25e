import { SluiceError } from "@sluice/core";
import { ALGORITHM } from "./canonical.ts";
import { hmacSha256 } from "./encoding.ts";
import { FILENAME_VARIABLE } from "./post-policy.ts";
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
  /** Form fields by lower-case name, the file excluded, as expandFormFields returns them. */
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

// Fields a policy never has to mention, besides x-ignore-* (S3 docs, "Creating a POST Policy" for
// SigV4, "HTML Forms" for V2).
const UNCOVERED = {
  sigv4: new Set(["x-amz-signature", "file", "policy"]),
  sigv2: new Set(["signature", "awsaccesskeyid", "file", "policy"]),
};

/**
 * S3 expands `${filename}` in every form field before it checks the policy
 * ("All variables within the form are expanded prior to validating the POST
 * policy"): the base name of the uploaded file, "" without one.
 */
export function expandFormFields(fields: ReadonlyMap<string, string>, filename: string): Map<string, string> {
  // Only the text after the last slash or backslash (old browsers send C:\...).
  const base = filename.split(/[\\/]/).pop() ?? "";
  return new Map([...fields].map(([name, value]) => [name, value.replaceAll(FILENAME_VARIABLE, base)]));
}

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

// ISO 8601 in UTC, as S3 reads it: an offset, a space for the T or a date alone is refused.
const EXPIRATION = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?Z$/;

function parseExpiration(expiration: string): number {
  const match = EXPIRATION.exec(expiration);
  const at = match ? Date.parse(`${match[1]}Z`) : Number.NaN;
  // A date that rolls over (2015-02-30, 24:00:00, :60) is not one S3 accepts.
  if (Number.isNaN(at) || new Date(at).toISOString().slice(0, 19) !== match?.[1])
    throw invalidPolicy(`Invalid 'expiration' value: '${expiration.slice(0, 64)}'`);
  return at + Math.floor(Number(`0${match[2] ?? ""}`) * 1000);
}

function decodePolicy(encoded: string): Policy {
  if (!/^[A-Za-z0-9+/=\s]*$/.test(encoded)) throw invalidPolicy("invalid Base64 encoding.");
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(encoded, "base64").toString("utf8"));
  } catch {
    // Includes nesting deep enough to overflow the parser's stack.
    throw invalidPolicy("Invalid JSON.");
  }
  if (typeof document !== "object" || document === null || Array.isArray(document))
    throw invalidPolicy("Invalid JSON.");
  const unexpected = Object.keys(document).find((name) => name !== "expiration" && name !== "conditions");
  if (unexpected !== undefined) throw invalidPolicy(`Unexpected: '${unexpected.toLowerCase().slice(0, 64)}'`);
  const { expiration, conditions } = document as { expiration?: unknown; conditions?: unknown };
  if (expiration === undefined) throw invalidPolicy("Policy missing expiration.");
  if (typeof expiration !== "string") throw invalidPolicy("Invalid JSON.");
  if (conditions === undefined) throw invalidPolicy("Policy missing conditions.");
  if (!Array.isArray(conditions)) throw invalidPolicy("Invalid 'conditions' value: must be a List.");
  return { expiration: parseExpiration(expiration), conditions };
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
    const signedAt = fields.get("x-amz-date") ?? "";
    if (!/^\d{8}T\d{6}Z$/.test(signedAt))
      throw invalidArgument("X-Amz-Date must be formated via ISO8601 Long format");
    if (!signedAt.startsWith(date))
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

const failed = (condition: unknown) => denied(`Policy Condition failed: ${JSON.stringify(condition)}`);

function operand(value: unknown): string {
  if (typeof value !== "string") throw invalidPolicy("Invalid JSON.");
  return value;
}

/** A content-length-range bound: a non-negative integer, or a string of digits (S3 accepts "5"). */
function bound(value: unknown, condition: unknown): number {
  if (typeof value === "string") {
    if (!/^\d{1,16}$/.test(value)) throw failed(condition);
    return Number(value);
  }
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    throw invalidPolicy("Invalid content-length-range: bounds must be non-negative integers.");
  return value;
}

// S3 reads a Content-Type with commas as a list whose every entry must pass starts-with.
const startsWith = (field: string, actual: string, prefix: string) =>
  (field === "content-type" ? actual.split(",") : [actual]).every((entry) => entry.startsWith(prefix));

/**
 * One condition against the form: throws 403 when it does not hold, 400
 * InvalidPolicyDocument when it is malformed; returns the field it covers or
 * the size range it sets.
 */
function checkCondition(
  condition: unknown,
  value: (field: string) => string,
): { field?: string; range?: { min: number; max: number } } {
  if (Array.isArray(condition)) {
    const [operator, first, second] = condition as unknown[];
    if (typeof operator !== "string") throw invalidPolicy("Invalid Condition: missing operation identifier.");
    const op = operator.toLowerCase();
    if (op !== "eq" && op !== "starts-with" && op !== "content-length-range")
      throw invalidPolicy(`Invalid Condition: unknown operation '${operator.slice(0, 64)}'.`);
    if (condition.length !== 3) throw invalidPolicy(`Invalid ${op}: wrong number of arguments.`);
    if (op === "content-length-range") {
      const min = bound(first, condition);
      const max = bound(second, condition);
      if (min > max) throw invalidPolicy("Invalid content-length-range: the minimum is above the maximum.");
      return { range: { min, max } };
    }
    const reference = operand(first);
    const expected = operand(second);
    // A name without "$" names no field, so the condition cannot hold (S3: 403, not 400).
    if (!reference.startsWith("$")) throw failed(condition);
    const field = reference.slice(1).toLowerCase();
    const actual = value(field);
    if (op === "eq" ? actual !== expected : !startsWith(field, actual, expected)) throw failed(condition);
    return { field };
  }
  if (typeof condition === "object" && condition !== null) {
    const entries = Object.entries(condition);
    const [name, expected] = entries[0] ?? [];
    if (entries.length !== 1 || name === undefined)
      throw invalidPolicy(
        "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.",
      );
    if (expected === null) throw invalidPolicy("Invalid JSON.");
    if (typeof expected !== "string")
      throw invalidPolicy("Invalid Simple-Condition: value must be a string.");
    const field = name.toLowerCase();
    // S3 reports a simple condition as the eq it stands for.
    if (value(field) !== expected) throw failed(["eq", `$${name}`, expected]);
    return { field };
  }
  throw invalidPolicy("Invalid condition test: must be a List or Object.");
}

/**
 * Checks a POST form against its policy: signature, expiration, each
 * condition (exact, eq, starts-with, content-length-range, bucket), and that
 * every field is covered by a condition. Field and condition names are
 * case-insensitive, values case-sensitive. Throws a SluiceError with S3's code.
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
  for (const condition of policy.conditions) {
    const { field, range } = checkCondition(condition, value);
    if (field !== undefined) covered.add(field);
    if (range) {
      // Every range must hold: keep their intersection.
      const { min, max } = checked.contentLengthRange ?? { min: 0, max: Number.MAX_SAFE_INTEGER };
      checked.contentLengthRange = { min: Math.max(min, range.min), max: Math.min(max, range.max) };
    }
  }
  const exempt = UNCOVERED[checked.scheme];
  const extra = [...options.fields.keys()].filter(
    (name) => !covered.has(name) && !exempt.has(name) && !name.startsWith("x-ignore-"),
  );
  if (extra.length > 0) throw denied(`Extra input fields: ${extra.join(", ")}`);
  return checked;
}
