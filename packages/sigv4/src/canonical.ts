import { sha256Hex, uriEncode } from "./encoding.ts";

export const ALGORITHM = "AWS4-HMAC-SHA256";
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

/**
 * The canonical URI of an S3 request: each path segment decoded, then encoded
 * once with SigV4's rules (S3 does not double-encode). Throws URIError on a
 * malformed percent sequence; callers on the verifying side turn that into 400.
 */
export function canonicalPath(pathname: string): string {
  if (pathname === "") return "/";
  return pathname
    .split("/")
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join("/");
}

/** Sorted by encoded name, then encoded value; `name=value` joined by `&`. */
export function canonicalQuery(params: Iterable<[string, string]>): string {
  const encoded: Array<[string, string]> = [];
  for (const [name, value] of params) encoded.push([uriEncode(name), uriEncode(value)]);
  encoded.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return encoded.map(([name, value]) => `${name}=${value}`).join("&");
}

/** Header values are trimmed and inner runs of spaces folded, as SigV4 requires. */
export function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, " ");
}

export interface CanonicalRequestParts {
  method: string;
  /** Already canonical (see canonicalPath). */
  path: string;
  /** Already canonical (see canonicalQuery). */
  query: string;
  /** Lower-case names of the signed headers, sorted. */
  signedHeaders: readonly string[];
  /** Looks up a header value by lower-case name. */
  header: (name: string) => string | undefined;
  payloadHash: string;
}

export function canonicalRequest(parts: CanonicalRequestParts): string {
  const headerLines = parts.signedHeaders
    .map((name) => `${name}:${canonicalHeaderValue(parts.header(name) ?? "")}\n`)
    .join("");
  return [
    parts.method,
    parts.path,
    parts.query,
    headerLines,
    parts.signedHeaders.join(";"),
    parts.payloadHash,
  ].join("\n");
}

export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/aws4_request`;
}

export function stringToSign(options: { dateTime: string; scope: string; canonicalRequest: string }): string {
  return `${ALGORITHM}\n${options.dateTime}\n${options.scope}\n${sha256Hex(options.canonicalRequest)}`;
}
