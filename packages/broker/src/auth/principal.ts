/** Who is calling: every key and every read is scoped to tenant + user. */
import { errors } from "@sluice/core";
export interface Principal {
  tenant: string;
  user: string;
  /** How the caller authenticated, for the audit log. */
  via?: "jwt" | "api-key" | "hook";
  /**
   * Set when a server key (scope `server`) called: the application's backend.
   * `onBehalf`: it named a user (X-Sluice-User) and acts as that user; otherwise
   * it acts tenant-wide and `user` is the key's own label.
   */
  server?: { keyId: string; onBehalf: boolean };
  /** Profiles a minted user token is limited to (POST /v1/tokens). */
  profiles?: string[];
}

/** The rows a caller may see: its own, or its whole tenant for a server key acting tenant-wide. */
export interface Scope {
  tenant: string;
  /** Undefined: every user of the tenant. */
  user?: string;
}

export function scopeOf(principal: Principal): Scope {
  if (principal.server && !principal.server.onBehalf) return { tenant: principal.tenant };
  return { tenant: principal.tenant, user: principal.user };
}

/** A user id (a key segment, an audit subject): 1-256 characters, no control characters. */
export const USER_ID = /^[^\u0000-\u001f\u007f]{1,256}$/;

/**
 * The principal an upload is made for: the caller, or for a server key the user
 * it names (X-Sluice-User, or `onBehalfOf` in the body).
 */
export function uploaderOf(principal: Principal, onBehalfOf?: string): Principal {
  if (onBehalfOf === undefined) {
    if (principal.server && !principal.server.onBehalf)
      throw errors.badRequest(
        "A server key uploads on behalf of a user: send X-Sluice-User or onBehalfOf",
        "OnBehalfOfRequired",
      );
    return principal;
  }
  if (!principal.server) throw errors.forbidden("Only server keys act on behalf of a user", "NotServerKey");
  if (!USER_ID.test(onBehalfOf)) throw errors.badRequest("onBehalfOf is not a valid user id", "InvalidUser");
  return { ...principal, user: onBehalfOf, server: { ...principal.server, onBehalf: true } };
}

/** Refuses callers that are not a server key: 403. */
export function requireServer(principal: Principal): void {
  if (!principal.server)
    throw errors.forbidden("This needs a server key (scope server)", "ServerKeyRequired");
}
