import { timingSafeEqual } from "node:crypto";
import { SluiceError } from "@sluice/core";
import {
  ALGORITHM,
  canonicalPath,
  canonicalQuery,
  canonicalRequest,
  credentialScope,
  stringToSign,
  UNSIGNED_PAYLOAD,
} from "./canonical.ts";
import { hmacSha256 } from "./encoding.ts";
import { MAX_PRESIGN_EXPIRY_SECONDS } from "./presign.ts";
import { deriveSigningKey } from "./signing-key.ts";

/** S3 accepts requests signed up to 15 minutes before or after its own clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/** The request as received, before any decoding of the path. */
export interface IncomingSignedRequest {
  method: string;
  /** Path exactly as on the wire, percent-encoding included. */
  rawPath: string;
  /** Query parameters, decoded, in order. */
  query: Array<[string, string]>;
  /** Header value by lower-case name (repeated headers joined by ","). */
  header: (name: string) => string | undefined;
}

export interface VerifyOptions {
  request: IncomingSignedRequest & {
    /** Lower-case names of every header present: x-amz-* ones must all be signed. */
    headerNames: readonly string[];
  };
  /** The secret of an access key, or undefined when the key is unknown. */
  secretFor: (accessKeyId: string) => string | undefined;
  region: string;
  /** Default "s3". */
  service?: string;
  /** Default now. */
  now?: Date;
}

/** How the body is bound to the signature. */
export type PayloadBinding =
  /** x-amz-content-sha256 is the hex SHA-256 of the body: the receiver must hash and compare it. */
  | { kind: "sha256"; hex: string }
  | { kind: "unsigned" }
  /** aws-chunked body: decode it with AwsChunkedDecoder (chunked.ts). */
  | { kind: "streaming"; signedChunks: boolean; trailer: boolean };

/** Key material to verify the chained chunk signatures of a streaming body. */
export interface SigningContext {
  signature: string;
  signingKey: Buffer;
  dateTime: string;
  scope: string;
}

export interface VerifiedRequest {
  accessKeyId: string;
  via: "header" | "query";
  signedHeaders: readonly string[];
  payload: PayloadBinding;
  signing: SigningContext;
}

/** Does the request carry SigV4 auth at all (else it is anonymous or another scheme)? */
export function sigV4Kind(
  request: Pick<IncomingSignedRequest, "header" | "query">,
): "header" | "query" | undefined {
  if (request.header("authorization")?.startsWith(`${ALGORITHM} `)) return "header";
  if (request.query.some(([name]) => name === "X-Amz-Algorithm")) return "query";
  return undefined;
}

const STREAMING: Record<string, { signedChunks: boolean; trailer: boolean }> = {
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": { signedChunks: true, trailer: false },
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": { signedChunks: true, trailer: true },
  "STREAMING-UNSIGNED-PAYLOAD-TRAILER": { signedChunks: false, trailer: true },
};

function fail(code: string, status: number, message: string): SluiceError {
  return new SluiceError({ code, status, message });
}

const mismatch = () =>
  fail(
    "SignatureDoesNotMatch",
    403,
    "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
  );

interface ParsedAuth {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  dateTime: string;
  /** X-Amz-Expires of a presigned request, in seconds. */
  expires?: number;
}

const DATE_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function parseDateTime(
  value: string | undefined,
  malformed: () => SluiceError,
): { text: string; ms: number } {
  const match = value === undefined ? null : DATE_TIME.exec(value);
  if (!match || value === undefined) throw malformed();
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  if (Number.isNaN(ms)) throw malformed();
  return { text: value, ms };
}

/** `AKID/20260101/us-east-1/s3/aws4_request` */
function parseCredential(value: string, malformed: (why: string) => SluiceError) {
  const parts = value.split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request" || parts.some((part) => part === "")) {
    throw malformed(
      'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
    );
  }
  const [accessKeyId, date, region, service] = parts as [string, string, string, string];
  if (!/^\d{8}$/.test(date)) throw malformed("incorrect date format in the Credential.");
  return { accessKeyId, date, region, service };
}

function parseSignedHeaders(value: string, malformed: (why: string) => SluiceError): string[] {
  const names = value.split(";");
  if (names.some((name) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)))
    throw malformed("invalid SignedHeaders.");
  if (!names.includes("host")) throw malformed("host must be a signed header.");
  return names;
}

function parseHeaderAuth(request: IncomingSignedRequest): ParsedAuth {
  const malformed = (why: string) =>
    fail("AuthorizationHeaderMalformed", 400, `The authorization header is malformed; ${why}`);
  const value = request.header("authorization") ?? "";
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(",")) {
    const at = part.indexOf("=");
    if (at < 1) throw malformed("expecting Credential, SignedHeaders and Signature.");
    fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const credential = fields.get("Credential");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (fields.size !== 3 || !credential || !signedHeaders || !signature) {
    throw malformed("expecting Credential, SignedHeaders and Signature.");
  }
  const dateHeader = request.header("x-amz-date");
  const dateTime = parseDateTime(dateHeader, () =>
    fail("AccessDenied", 403, "AWS authentication requires a valid Date or x-amz-date header"),
  ).text;
  return {
    ...parseCredential(credential, malformed),
    signedHeaders: parseSignedHeaders(signedHeaders, malformed),
    signature,
    dateTime,
  };
}

function parseQueryAuth(query: Map<string, string>): ParsedAuth {
  const malformed = (why: string) =>
    fail("AuthorizationQueryParametersError", 400, `Query-string authentication is malformed: ${why}`);
  if (query.get("X-Amz-Algorithm") !== ALGORITHM)
    throw malformed(`X-Amz-Algorithm only supports "${ALGORITHM}".`);
  const credential = query.get("X-Amz-Credential");
  const signedHeaders = query.get("X-Amz-SignedHeaders");
  const signature = query.get("X-Amz-Signature");
  const dateTime = query.get("X-Amz-Date");
  const expires = query.get("X-Amz-Expires");
  // An empty X-Amz-Signature is a signature that does not match (403), not a malformed query.
  if (!credential || !signedHeaders || signature === undefined || !dateTime || expires === undefined) {
    throw malformed(
      "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Expires are all required.",
    );
  }
  // 0 is well-formed and already expired (403); negative, non-numeric or over a week is malformed.
  if (!/^\d{1,7}$/.test(expires) || Number(expires) > MAX_PRESIGN_EXPIRY_SECONDS) {
    throw malformed(`X-Amz-Expires must be from 1 to ${MAX_PRESIGN_EXPIRY_SECONDS} seconds.`);
  }
  parseDateTime(dateTime, () =>
    malformed("X-Amz-Date must be in the ISO8601 basic format yyyyMMdd'T'HHmmss'Z'."),
  );
  return {
    ...parseCredential(credential, malformed),
    signedHeaders: parseSignedHeaders(signedHeaders, malformed),
    signature,
    dateTime,
    expires: Number(expires),
  };
}

function payloadBinding(value: string | undefined): PayloadBinding {
  if (value === undefined) {
    throw fail("InvalidRequest", 400, "Missing required header for this request: x-amz-content-sha256");
  }
  if (value === UNSIGNED_PAYLOAD) return { kind: "unsigned" };
  const streaming = STREAMING[value];
  if (streaming) return { kind: "streaming", ...streaming };
  if (!/^[0-9a-f]{64}$/.test(value)) {
    throw fail(
      "InvalidArgument",
      400,
      "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-* or a hex SHA-256.",
    );
  }
  return { kind: "sha256", hex: value };
}

/** Constant-time comparison of two hex signatures. */
export function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(given, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Verifies a SigV4 request (Authorization header or presigned query): the
 * credential scope, the date and clock skew, the expiry, and the signature
 * over the canonical request built by the same code that signs
 * (canonical.ts). Throws a SluiceError with S3's code; returns who signed and
 * how the body is bound. The body itself (hash, chunk signatures) is checked
 * by the caller while it streams.
 */
export function verifyRequest(options: VerifyOptions): VerifiedRequest {
  const { request } = options;
  const service = options.service ?? "s3";
  const now = (options.now ?? new Date()).getTime();
  const via = sigV4Kind(request);
  if (!via) throw fail("AccessDenied", 403, "Access Denied");

  const query = new Map(request.query);
  // An authentication parameter given twice is not the request that was signed.
  if (via === "query" && query.size < request.query.length) {
    const seen = new Set<string>();
    for (const [name] of request.query) {
      if (name.startsWith("X-Amz-") && seen.has(name)) throw mismatch();
      seen.add(name);
    }
  }
  const parsed = via === "header" ? parseHeaderAuth(request) : parseQueryAuth(query);
  const wrongScope = (why: string) =>
    via === "header"
      ? fail("AuthorizationHeaderMalformed", 400, `The authorization header is malformed; ${why}`)
      : fail(
          "AuthorizationQueryParametersError",
          400,
          `Error parsing the X-Amz-Credential parameter; ${why}`,
        );
  if (parsed.region !== options.region)
    throw wrongScope(`the region '${parsed.region}' is wrong; expecting '${options.region}'`);
  if (parsed.service !== service)
    throw wrongScope(`the service '${parsed.service}' is wrong; expecting '${service}'`);
  if (parsed.date !== parsed.dateTime.slice(0, 8))
    throw wrongScope("the credential date does not match the request date");

  const signedAt = parseDateTime(parsed.dateTime, mismatch).ms;
  if (via === "header") {
    if (Math.abs(now - signedAt) > MAX_CLOCK_SKEW_MS) {
      throw fail(
        "RequestTimeTooSkewed",
        403,
        "The difference between the request time and the current time is too large.",
      );
    }
  } else {
    if (signedAt - now > MAX_CLOCK_SKEW_MS) throw fail("AccessDenied", 403, "Request is not valid yet");
    const expires = parsed.expires ?? 0;
    if (expires === 0 || now > signedAt + expires * 1000)
      throw fail("AccessDenied", 403, "Request has expired");
  }

  const secret = options.secretFor(parsed.accessKeyId);
  if (secret === undefined) {
    throw fail(
      "InvalidAccessKeyId",
      403,
      "The AWS Access Key Id you provided does not exist in our records.",
    );
  }

  // Presigned URLs sign UNSIGNED-PAYLOAD unless the signer hoisted x-amz-content-sha256 into the query.
  const hoisted = request.query.find(([name]) => name.toLowerCase() === "x-amz-content-sha256")?.[1];
  const payloadHash =
    via === "header" ? (request.header("x-amz-content-sha256") ?? "") : (hoisted ?? UNSIGNED_PAYLOAD);
  const payload = payloadBinding(via === "header" ? request.header("x-amz-content-sha256") : payloadHash);
  if (via === "query" && payload.kind === "streaming")
    throw fail("InvalidRequest", 400, "Presigned requests cannot stream aws-chunked bodies.");

  let path: string;
  try {
    path = canonicalPath(request.rawPath);
  } catch {
    throw fail("InvalidURI", 400, "Couldn't parse the specified URI.");
  }
  const scope = credentialScope(parsed.date, parsed.region, parsed.service);
  const signingKey = deriveSigningKey({
    secretAccessKey: secret,
    date: parsed.date,
    region: parsed.region,
    service: parsed.service,
  });
  const canonicalQueryString = canonicalQuery(request.query.filter(([name]) => name !== "X-Amz-Signature"));
  const signatureOver = (canonicalUri: string) =>
    hmacSha256(
      signingKey,
      stringToSign({
        dateTime: parsed.dateTime,
        scope,
        canonicalRequest: canonicalRequest({
          method: request.method.toUpperCase(),
          path: canonicalUri,
          query: canonicalQueryString,
          signedHeaders: parsed.signedHeaders,
          header: request.header,
          payloadHash,
        }),
      }),
    ).toString("hex");
  // The canonical URI is the path re-encoded (what the AWS SDKs sign); a signer that kept the path as
  // it sent it (curl's aws-sigv4 keeps `%2E%2E`) signed the same request, so that is accepted too.
  const matches =
    sameSignature(signatureOver(path), parsed.signature) ||
    (request.rawPath !== path && sameSignature(signatureOver(request.rawPath), parsed.signature));
  if (!matches) throw mismatch();
  // As S3: an x-amz-* header the signer did not sign (x-amz-acl, x-amz-copy-source, x-amz-meta-*...)
  // would change what a grant allows, so the request is refused. x-amz-content-sha256 is bound anyway.
  const unsigned = request.headerNames.filter(
    (name) =>
      name.startsWith("x-amz-") && name !== "x-amz-content-sha256" && !parsed.signedHeaders.includes(name),
  );
  if (unsigned.length > 0) {
    throw new SluiceError({
      code: "AccessDenied",
      status: 403,
      message: "There were headers present in the request which were not signed",
    });
  }

  return {
    accessKeyId: parsed.accessKeyId,
    via,
    signedHeaders: parsed.signedHeaders,
    payload,
    signing: { signature: parsed.signature, signingKey, dateTime: parsed.dateTime, scope },
  };
}
