// Share-link tokens: 192 random bits, shown once, stored as SHA-256.
import { randomBytes } from "node:crypto";
import { hashSecret } from "../auth/apiKeys.ts";

export function newLinkToken(): { token: string; hash: string } {
  const token = randomBytes(24).toString("base64url");
  return { token, hash: hashSecret(token) };
}

export function linkTokenHash(token: string): string | undefined {
  return /^[A-Za-z0-9_-]{32}$/.test(token) ? hashSecret(token) : undefined;
}
