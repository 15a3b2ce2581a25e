// Bearer JWT verification: HS* with the shared secret, RS*/ES*/PS* from a JWKS
// URL. Signature, algorithm allowlist (never "none"), expiry (required),
// issuer and audience are all checked here and only here.
import { errors, SluiceError } from "@sluice/core";
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify, SignJWT } from "jose";
import type { BrokerConfig } from "../config/schema.ts";
import { type Principal, USER_ID } from "./principal.ts";

type JwtConfig = BrokerConfig["auth"]["jwt"];

export interface JwtVerifier {
  verify(token: string): Promise<Principal>;
}

function claimString(payload: JWTPayload, claim: string): string | undefined {
  const value = payload[claim];
  return typeof value === "string" && USER_ID.test(value) ? value : undefined;
}

/** The claim that limits a token to some upload profiles (tokens minted by POST /v1/tokens). */
export const PROFILES_CLAIM = "sluice_profiles";

/** How long a verified token is trusted without checking its signature again, and how many are kept. */
const VERIFIED_TTL_MS = 60_000;
const MAX_VERIFIED_TOKENS = 10_000;

export function createJwtVerifier(options: { jwt: JwtConfig; secret?: string }): JwtVerifier {
  const { jwt } = options;
  const hmacAlgorithms = (jwt.algorithms ?? ["HS256"]).filter((a) => a.startsWith("HS"));
  const secret = options.secret ? new TextEncoder().encode(options.secret) : undefined;
  // Imported once per algorithm: jose would import the raw secret again on every verification.
  const hmacKeys = new Map<string, Promise<CryptoKey>>();
  const hmacKey = secret
    ? (header: { alg?: string }) => {
        const alg = header.alg ?? "";
        let key = hmacKeys.get(alg);
        if (!key && (hmacAlgorithms as string[]).includes(alg)) {
          const hash = { name: `SHA-${alg.slice(2)}` };
          key = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash }, false, ["verify"]);
          hmacKeys.set(alg, key);
        }
        // An algorithm outside the allowlist: jose refuses it before using the key.
        return key ?? secret;
      }
    : undefined;
  const jwks = jwt.jwksUrl ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : undefined;
  const publicAlgorithms = (jwt.algorithms ?? ["RS256", "ES256"]).filter((a) => !a.startsWith("HS"));

  // Tokens already verified, until their expiry and at most VERIFIED_TTL_MS: a
  // client sends the same token with every request, and WebCrypto's HMAC
  // verification (jose's only path) costs more than the rest of a grant. The
  // key is the whole token, so a hit is the exact bytes that were verified.
  const verified = new Map<string, { principal: Principal; until: number }>();

  async function check(token: string): Promise<{ principal: Principal; expiresAt: number }> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw errors.unauthorized("Malformed bearer token", "InvalidToken");
    }
    const useHmac = alg?.startsWith("HS") ?? false;
    const checks = {
      issuer: jwt.issuer,
      audience: jwt.audience,
      requiredClaims: ["exp"],
      clockTolerance: 5,
    };
    let payload: JWTPayload;
    try {
      if (useHmac && hmacKey) {
        ({ payload } = await jwtVerify(token, hmacKey, { ...checks, algorithms: hmacAlgorithms }));
      } else if (!useHmac && jwks) {
        ({ payload } = await jwtVerify(token, jwks, { ...checks, algorithms: publicAlgorithms }));
      } else {
        throw errors.unauthorized("Token algorithm not accepted", "InvalidToken");
      }
    } catch (error) {
      if (error instanceof SluiceError) throw error;
      const code = (error as { code?: string }).code;
      if (code === "ERR_JWT_EXPIRED") throw errors.unauthorized("Token expired", "TokenExpired");
      if (code === "ERR_JWKS_TIMEOUT" || code === "ERR_JOSE_GENERIC") {
        throw errors.unavailable("Identity provider keys unavailable", "JwksUnavailable");
      }
      throw errors.unauthorized("Invalid token", "InvalidToken");
    }
    const user = claimString(payload, jwt.userClaim);
    const tenant = claimString(payload, jwt.tenantClaim) ?? jwt.defaultTenant;
    if (!user || !tenant) throw errors.unauthorized("Token lacks the user or tenant claim", "InvalidToken");
    const expiresAt = (payload.exp ?? 0) * 1000;
    const profiles = payload[PROFILES_CLAIM];
    if (profiles === undefined) return { principal: { tenant, user, via: "jwt" }, expiresAt };
    if (!Array.isArray(profiles) || !profiles.every((p) => typeof p === "string"))
      throw errors.unauthorized("Token has a malformed profiles claim", "InvalidToken");
    return { principal: { tenant, user, via: "jwt", profiles }, expiresAt };
  }

  return {
    async verify(token) {
      const now = Date.now();
      const hit = verified.get(token);
      if (hit && hit.until > now) return hit.principal;
      if (hit) verified.delete(token);
      const { principal, expiresAt } = await check(token);
      if (verified.size >= MAX_VERIFIED_TOKENS) verified.delete(verified.keys().next().value!);
      verified.set(token, { principal, until: Math.min(expiresAt, now + VERIFIED_TTL_MS) });
      return principal;
    },
  };
}

/** Signs an HS256 token (development token, tests, CLI helpers). */
export async function signToken(options: {
  secret: string;
  tenant: string;
  user: string;
  jwt: JwtConfig;
  expiresIn?: string | number;
  /** Limit the token to these upload profiles. */
  profiles?: string[];
}): Promise<string> {
  let builder = new SignJWT({
    [options.jwt.tenantClaim]: options.tenant,
    [options.jwt.userClaim]: options.user,
    ...(options.profiles ? { [PROFILES_CLAIM]: options.profiles } : {}),
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "30d");
  if (options.jwt.issuer) builder = builder.setIssuer(options.jwt.issuer);
  const audience = options.jwt.audience;
  if (audience) builder = builder.setAudience(audience);
  return builder.sign(new TextEncoder().encode(options.secret));
}
