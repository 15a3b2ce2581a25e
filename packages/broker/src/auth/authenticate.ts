// Turns a request into a Principal: the library user's authorize hook first,
// then API keys (Bearer sk_… or X-Api-Key), then a bearer JWT.
import { errors } from "@sluice/core";
import type { Kysely } from "kysely";
import type { BrokerConfig } from "../config/schema.ts";
import type { Database } from "../db/schema.ts";
import { API_KEY_PREFIX, verifyApiKey } from "./apiKeys.ts";
import { createJwtVerifier } from "./jwt.ts";
import type { Principal } from "./principal.ts";

/**
 * Library users' hook: return a Principal to accept, throw a SluiceError to
 * refuse, or return null/undefined to let the built-in checks decide.
 */
export type AuthorizeHook = (
  request: Request,
) => Principal | null | undefined | Promise<Principal | null | undefined>;

export type Authenticate = (request: Request) => Promise<Principal>;

export function createAuthenticator(options: {
  config: BrokerConfig;
  db: Kysely<Database>;
  secret?: string;
  authorize?: AuthorizeHook;
}): Authenticate {
  const { config, db, authorize } = options;
  const jwt = createJwtVerifier({ jwt: config.auth.jwt, secret: options.secret });
  return async (request) => {
    if (authorize) {
      const principal = await authorize(request);
      if (principal) return { ...principal, via: principal.via ?? "hook" };
    }
    const header = request.headers.get("authorization") ?? "";
    const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const apiKey =
      request.headers.get("x-api-key") ?? (bearer?.startsWith(API_KEY_PREFIX) ? bearer : undefined);
    if (apiKey !== undefined) {
      if (!config.auth.apiKeys) throw errors.unauthorized("API keys are disabled", "InvalidApiKey");
      const principal = await verifyApiKey(db, apiKey, request.headers.get("x-sluice-user") ?? undefined);
      if (!principal) throw errors.unauthorized("Invalid API key", "InvalidApiKey");
      return principal;
    }
    if (!bearer) throw errors.unauthorized();
    if (request.headers.has("x-sluice-user"))
      throw errors.forbidden("Only server keys act on behalf of a user", "NotServerKey");
    return jwt.verify(bearer);
  };
}
