// Hook for a web front-end (@sluice/web) served by the broker at `/`: it gets
// every request no API route matched, outside /v1/ and /l/.
import type { Context } from "hono";
import type { Profile } from "../config/schema.ts";
import { clientIp } from "./env.ts";

/** What the broker tells the page it serves. */
export interface PageHost {
  profiles: Record<string, Profile>;
  /**
   * Development token when the broker minted one, given only for requests
   * from a loopback address to a loopback host name (see isLocalRequest).
   */
  devToken?: string;
  /** Origin of the storage endpoint in presigned URLs (for CSP connect-src / form-action). */
  storageOrigin: string;
  /**
   * The broker's own API in process (e.g. `/v1/uploads` with an Authorization
   * header), for pages rendered on the server; same auth, limits and audit.
   */
  api(request: Request): Promise<Response>;
}

/** Answers a request, or returns undefined to let the broker answer 404. */
export type WebHandler = (
  request: Request,
  host: PageHost,
) => Response | undefined | Promise<Response | undefined>;

/**
 * A request from this machine to a loopback name: neither another machine
 * (broker listening on 0.0.0.0) nor a DNS-rebound site (its own Host name).
 */
export function isLocalRequest(c: Context): boolean {
  const ip = clientIp(c);
  const loopbackIp = !!ip && (ip.startsWith("127.") || ip === "::1" || ip.startsWith("::ffff:127."));
  const host = new URL(c.req.url).hostname;
  return loopbackIp && (host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host));
}
