/**
 * Sign-in for the no-JavaScript form: the token lives in an HttpOnly cookie,
 * sealed (AES-256-GCM) so the cookie is a session reference that only this
 * server can open, not the raw token. SameSite=Lax plus POST-only changes
 * with an Origin check keep other sites from acting with it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

export const COOKIE = "sluice_form";
/** A session lasts at most this long (the token's own expiry still applies at the broker). */
const SESSION_SECONDS = 8 * 3600;

export interface SessionSealer {
  seal(token: string): string;
  /** The token, or undefined when the value is forged, from another key, or expired. */
  open(value: string): string | undefined;
}

/** `secret`: share it between brokers behind one load balancer; default a key of this process. */
export function createSealer(secret?: string): SessionSealer {
  const key = secret ? createHash("sha256").update(secret).digest() : randomBytes(32);
  return {
    seal(token) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const plain = JSON.stringify({ t: token, e: Date.now() + SESSION_SECONDS * 1000 });
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url");
    },
    open(value) {
      const raw = Buffer.from(value, "base64url");
      if (raw.length < 29 || raw.length > 16_384) return undefined;
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
        const { t, e } = JSON.parse(plain) as { t: unknown; e: unknown };
        return typeof t === "string" && typeof e === "number" && e > Date.now() ? t : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

export function readCookie(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}

function isHttps(request: Request): boolean {
  return new URL(request.url).protocol === "https:" || request.headers.get("x-forwarded-proto") === "https";
}

/** Set-Cookie for the session (value) or its removal (undefined). */
export function sessionCookie(request: Request, value: string | undefined): string {
  return [
    `${COOKIE}=${value ?? ""}`,
    "Path=/form",
    "HttpOnly",
    "SameSite=Lax",
    `Max-Age=${value === undefined ? 0 : SESSION_SECONDS}`,
    ...(isHttps(request) ? ["Secure"] : []),
  ].join("; ");
}

/**
 * A state-changing POST from a page of this origin. Browsers say where a
 * request comes from in Sec-Fetch-Site; our pages send `Referrer-Policy:
 * no-referrer`, which makes their own form posts' Origin "null", so Origin is
 * only the fallback for browsers without Sec-Fetch-Site (then foreign and
 * opaque origins are refused). Clients that are no browser send neither and
 * carry no ambient cookie to abuse.
 */
export function sameOrigin(request: Request): boolean {
  const site = request.headers.get("sec-fetch-site");
  if (site !== null) return site === "same-origin" || site === "none";
  const origin = request.headers.get("origin");
  return origin === null || origin === new URL(request.url).origin;
}

/** An urlencoded form body of at most `limit` bytes, read as a stream. */
export async function readSmallForm(request: Request, limit: number): Promise<URLSearchParams | undefined> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers.get("content-type") ?? ""))
    return undefined;
  if (!request.body) return new URLSearchParams();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.length;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(read.value);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}
