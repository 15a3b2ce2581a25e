// Hook for a web front-end (@sluice/web) served by the broker at `/`: it gets
// every request no API route matched, outside /v1/ and /l/.
import type { Profile } from "../config/schema.ts";

/** What the broker tells the page it serves. */
export interface PageHost {
  profiles: Record<string, Profile>;
  /** Development token when the broker minted one (local use only). */
  devToken?: string;
  /** Origin of the storage endpoint in presigned URLs (for CSP connect-src / form-action). */
  storageOrigin: string;
}

/** Answers a request, or returns undefined to let the broker answer 404. */
export type WebHandler = (
  request: Request,
  host: PageHost,
) => Response | undefined | Promise<Response | undefined>;
