// Who may post storage events: a sender holding the events token, either as
// `Authorization: Bearer <token>` (MinIO's auth_token, relays) or as an
// HMAC-SHA256 signature `x-sluice-signature: t=<unix>,v1=<hex HMAC(token, "<t>.<body>")>`
// (the embedded store's webhooks), which also binds the body and the time, or
// as the `opaqueData` of every record (Ceph RGW's topics, which can add neither
// a header nor a signature: the token travels in the body, never in a URL that
// access logs keep).
import { createHmac, timingSafeEqual } from "node:crypto";

const TOLERANCE_SECONDS = 300;

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1];
  return given !== undefined && same(Buffer.from(given), Buffer.from(token));
}

export function signatureMatches(options: {
  header: string | undefined;
  body: string;
  token: string;
  now?: number;
}): boolean {
  const fields = new Map(
    (options.header ?? "").split(",").map((part) => {
      const at = part.indexOf("=");
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const t = fields.get("t") ?? "";
  const v1 = fields.get("v1") ?? "";
  if (!/^\d{1,12}$/.test(t) || !/^[0-9a-f]{64}$/.test(v1)) return false;
  if (Math.abs((options.now ?? Date.now()) / 1000 - Number(t)) > TOLERANCE_SECONDS) return false;
  const expected = createHmac("sha256", options.token).update(`${t}.${options.body}`).digest();
  return same(expected, Buffer.from(v1, "hex"));
}

/** Every record carries the token as its opaqueData (an RGW topic created by setupBucketEvents). */
export function opaqueDataMatches(body: string, token: string): boolean {
  let records: unknown;
  try {
    records = (JSON.parse(body) as { Records?: unknown }).Records;
  } catch {
    return false;
  }
  if (!Array.isArray(records) || records.length === 0) return false;
  const expected = Buffer.from(token);
  return records.every((record) => {
    const given = (record as { opaqueData?: unknown } | null)?.opaqueData;
    return typeof given === "string" && same(Buffer.from(given), expected);
  });
}
