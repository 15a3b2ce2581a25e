import { createHmac, timingSafeEqual } from "node:crypto";

/** The header carrying the signature of a notification delivery. */
export const SIGNATURE_HEADER = "x-sluice-signature";

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the timestamp is signed so a delivery cannot be replayed later. */
export function signNotification(options: { body: string; secret: string; now?: Date }): string {
  const t = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const v1 = createHmac("sha256", options.secret).update(`${t}.${options.body}`, "utf8").digest("hex");
  return `t=${t},v1=${v1}`;
}

/**
 * For the receiver (the broker): is `header` (x-sluice-signature) a valid
 * signature of exactly this raw body under `secret`, made within
 * `toleranceSeconds` (default 300) of now? Compare before parsing the body.
 */
export function verifyNotificationSignature(options: {
  body: string | Buffer;
  header: string | null | undefined;
  secret: string;
  toleranceSeconds?: number;
  now?: Date;
}): boolean {
  const fields = new Map<string, string>();
  for (const part of (options.header ?? "").split(",")) {
    const at = part.indexOf("=");
    if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const t = fields.get("t") ?? "";
  const given = fields.get("v1") ?? "";
  if (!/^\d{1,12}$/.test(t) || !/^[0-9a-f]{64}$/.test(given)) return false;
  const now = (options.now ?? new Date()).getTime() / 1000;
  if (Math.abs(now - Number(t)) > (options.toleranceSeconds ?? 300)) return false;
  const body = typeof options.body === "string" ? Buffer.from(options.body, "utf8") : options.body;
  const expected = createHmac("sha256", options.secret).update(`${t}.`, "utf8").update(body).digest();
  return timingSafeEqual(expected, Buffer.from(given, "hex"));
}
