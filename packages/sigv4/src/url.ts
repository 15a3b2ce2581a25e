import { uriEncode } from "./encoding.ts";

export interface SplitUrl {
  /** `http://host:port` */
  origin: string;
  host: string;
  /** The path exactly as written, percent-encoding included. */
  rawPath: string;
  query: Array<[string, string]>;
}

/**
 * Splits a URL without WHATWG normalisation: `new URL()` resolves `.`/`..`
 * segments (also written `%2E`), which are legal in S3 keys and would change
 * the signed path.
 */
export function splitUrl(url: string | URL): SplitUrl {
  const href = typeof url === "string" ? url : url.href;
  const match = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)([^?#]*)(?:\?([^#]*))?/i.exec(href);
  if (!match) throw new TypeError("not an absolute URL");
  const origin = match[1]!;
  const parsed = new URL(origin);
  const query: Array<[string, string]> = [];
  for (const [name, value] of new URLSearchParams(match[3] ?? "")) query.push([name, value]);
  return { origin, host: parsed.host, rawPath: match[2] || "/", query };
}

/**
 * The URL of an object, path-style (`endpoint/bucket/key`) or virtual-hosted
 * (`bucket.host/key`), with the key encoded the way SigV4 canonicalises it.
 */
export function objectUrl(options: {
  endpoint: string;
  bucket: string;
  key?: string;
  forcePathStyle?: boolean;
}): string {
  const endpoint = new URL(options.endpoint);
  const keyPath = options.key === undefined ? "" : uriEncode(options.key, true);
  const basePath = endpoint.pathname.replace(/\/+$/, "");
  if (options.forcePathStyle ?? true) {
    return `${endpoint.origin}${basePath}/${uriEncode(options.bucket)}/${keyPath}`;
  }
  return `${endpoint.protocol}//${options.bucket}.${endpoint.host}${basePath}/${keyPath}`;
}
