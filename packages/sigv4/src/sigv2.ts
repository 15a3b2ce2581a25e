import { createHmac } from "node:crypto";
import { SluiceError } from "@sluice/core";
import { canonicalHeaderValue } from "./canonical.ts";
import { type IncomingSignedRequest, MAX_CLOCK_SKEW_MS, sameSignature } from "./verify.ts";

/**
 * Legacy S3 Signature Version 2 (S3 docs, "Signing and Authenticating REST
 * Requests"), still sent by older upload widgets: base64 HMAC-SHA1 of a
 * string to sign, in `Authorization: AWS <key>:<signature>` or in the query
 * (AWSAccessKeyId, Expires, Signature). The store accepts it only when
 * configured to; the broker never signs with it.
 */

// Query parameters that are part of the V2 CanonicalizedResource: the S3 docs' list plus the
// later ones botocore signs (accelerate ... storageClass), so its V2 requests verify.
const SUB_RESOURCES = new Set([
  "accelerate",
  "acl",
  "analytics",
  "cors",
  "delete",
  "inventory",
  "lifecycle",
  "location",
  "logging",
  "metrics",
  "notification",
  "object-lock",
  "partNumber",
  "policy",
  "replication",
  "requestPayment",
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "response-content-language",
  "response-content-type",
  "response-expires",
  "restore",
  "select",
  "select-type",
  "storageClass",
  "tagging",
  "torrent",
  "uploadId",
  "uploads",
  "versionId",
  "versioning",
  "versions",
  "website",
]);

/** base64(HMAC-SHA1(secret, text)): the V2 request signature and the V2 POST policy signature. */
export function signV2(secretAccessKey: string, text: string): string {
  return createHmac("sha1", secretAccessKey).update(text, "utf8").digest("base64");
}

export interface StringToSignV2Parts {
  method: string;
  header: (name: string) => string | undefined;
  /** Lower-case names of the request's x-amz-* headers. */
  amzHeaderNames?: readonly string[];
  query: ReadonlyArray<[string, string]>;
  /** `/bucket/key` with the path exactly as on the wire (virtual-hosted: the bucket prepended). */
  resourcePath: string;
  /** The Date header (header auth, "" when x-amz-date is sent) or Expires (query auth). */
  dateOrExpires: string;
}

/** METHOD, Content-MD5, Content-Type, Date|Expires, x-amz-* headers, resource with sub-resources. */
export function stringToSignV2(parts: StringToSignV2Parts): string {
  const amz = new Map<string, string>();
  for (const name of parts.amzHeaderNames ?? []) {
    const value = parts.header(name);
    if (value !== undefined) amz.set(name, canonicalHeaderValue(value));
  }
  const amzLines = [...amz.keys()]
    .sort()
    .map((name) => `${name}:${amz.get(name)}\n`)
    .join("");
  const sub = parts.query
    .filter(([name]) => SUB_RESOURCES.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => (value === "" ? name : `${name}=${value}`));
  const resource = parts.resourcePath + (sub.length > 0 ? `?${sub.join("&")}` : "");
  return [
    parts.method.toUpperCase(),
    parts.header("content-md5") ?? "",
    parts.header("content-type") ?? "",
    parts.dateOrExpires,
    `${amzLines}${resource}`,
  ].join("\n");
}

export interface VerifyV2Options {
  request: IncomingSignedRequest & {
    /** Lower-case names of every header the request carries (for the x-amz-* lines). */
    headerNames: readonly string[];
  };
  resourcePath: string;
  secretFor: (accessKeyId: string) => string | undefined;
  now?: Date;
}

/**
 * The resource paths a client may have signed for this request, the first S3's own. A bucket
 * is `/bucket/` in S3's CanonicalizedResource also when the path-style wire path is `/bucket`
 * (botocore signs it so), and some clients sign the bare `/bucket`. Some botocore releases
 * (1.29 in Debian 12's python3-boto3; 1.43 no longer) put the fixed query of the operation's
 * service model into the path before the sub-resources (boto/boto3#4433):
 * `/bucket?list-type=2`, `/bucket/key?uploads?uploads`, `/bucket/key?attributes`. Accepted
 * too: they name no other resource than the request's.
 */
function signedResourcePathsV2(
  resourcePath: string,
  query: ReadonlyArray<readonly [string, string]>,
): string[] {
  const paths = [resourcePath];
  const bucketOnly = /^\/[^/]+\/?$/.test(resourcePath);
  if (bucketOnly) paths.push(resourcePath.endsWith("/") ? resourcePath.slice(0, -1) : `${resourcePath}/`);
  const [first] = query;
  if (first) {
    const [name, value] = first;
    const modelQuery =
      name === "list-type" && value === "2"
        ? "list-type=2"
        : (SUB_RESOURCES.has(name) || name === "attributes") && value === ""
          ? name
          : undefined;
    if (modelQuery)
      paths.push(`${bucketOnly ? resourcePath.replace(/\/$/, "") : resourcePath}?${modelQuery}`);
  }
  return paths;
}

/** Does the request carry V2 auth (header `AWS key:sig`, or AWSAccessKeyId/Signature in the query)? */
export function sigV2Kind(request: IncomingSignedRequest): "header" | "query" | undefined {
  if (/^AWS [^:\s]+:/.test(request.header("authorization") ?? "")) return "header";
  if (request.query.some(([name]) => name === "AWSAccessKeyId" || name === "Signature")) return "query";
  return undefined;
}

const fail = (code: string, status: number, message: string) => new SluiceError({ code, status, message });

/** Verifies a V2-signed request; throws a SluiceError with S3's code, returns who signed. */
export function verifyRequestV2(options: VerifyV2Options): { accessKeyId: string; via: "header" | "query" } {
  const { request } = options;
  const via = sigV2Kind(request);
  const now = (options.now ?? new Date()).getTime();
  let accessKeyId: string;
  let signature: string;
  let dateOrExpires: string;
  if (via === "header") {
    const match = /^AWS ([^:\s]+):(\S+)$/.exec(request.header("authorization") ?? "");
    if (!match) throw fail("InvalidArgument", 400, "AWS authorization header is invalid.");
    [, accessKeyId = "", signature = ""] = match;
    const amzDate = request.header("x-amz-date");
    const date = request.header("date");
    const signedAt = Date.parse(amzDate ?? date ?? "");
    if (Number.isNaN(signedAt))
      throw fail("AccessDenied", 403, "AWS authentication requires a valid Date or x-amz-date header");
    if (Math.abs(now - signedAt) > MAX_CLOCK_SKEW_MS)
      throw fail(
        "RequestTimeTooSkewed",
        403,
        "The difference between the request time and the current time is too large.",
      );
    dateOrExpires = amzDate === undefined ? (date ?? "") : "";
  } else if (via === "query") {
    const query = new Map(request.query);
    accessKeyId = query.get("AWSAccessKeyId") ?? "";
    signature = query.get("Signature") ?? "";
    dateOrExpires = query.get("Expires") ?? "";
    if (!accessKeyId || !signature || !/^\d{1,12}$/.test(dateOrExpires))
      throw fail(
        "AccessDenied",
        403,
        "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
      );
    if (now > Number(dateOrExpires) * 1000) throw fail("AccessDenied", 403, "Request has expired");
  } else throw fail("AccessDenied", 403, "Access Denied");

  const secret = options.secretFor(accessKeyId);
  if (secret === undefined)
    throw fail(
      "InvalidAccessKeyId",
      403,
      "The AWS Access Key Id you provided does not exist in our records.",
    );
  const signatures = signedResourcePathsV2(options.resourcePath, request.query).map((resourcePath) =>
    signV2(
      secret,
      stringToSignV2({
        method: request.method,
        header: request.header,
        amzHeaderNames: request.headerNames.filter((name) => name.startsWith("x-amz-")),
        query: request.query,
        resourcePath,
        dateOrExpires,
      }),
    ),
  );
  if (!signatures.some((expected) => sameSignature(expected, signature)))
    throw fail(
      "SignatureDoesNotMatch",
      403,
      "The request signature we calculated does not match the signature you provided.",
    );
  return { accessKeyId, via };
}
