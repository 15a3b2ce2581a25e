import { hmacSha256 } from "./encoding.ts";

// The derived key depends only on (secret, day, region, service): four HMACs
// that every presign would otherwise repeat. Cached, bounded, per process.
const MAX_CACHED_KEYS = 256;
const cache = new Map<string, Buffer>();

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request") */
export function deriveSigningKey(options: {
  secretAccessKey: string;
  date: string;
  region: string;
  service: string;
}): Buffer {
  const { secretAccessKey, date, region, service } = options;
  const cacheKey = `${date}\n${region}\n${service}\n${secretAccessKey}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  const kDate = hmacSha256(`AWS4${secretAccessKey}`, date);
  const kRegion = hmacSha256(kDate, region);
  const kService = hmacSha256(kRegion, service);
  const kSigning = hmacSha256(kService, "aws4_request");
  if (cache.size >= MAX_CACHED_KEYS) cache.clear();
  cache.set(cacheKey, kSigning);
  return kSigning;
}
