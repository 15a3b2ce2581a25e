// The hook that serves a web page next to the API (the drop-in page of
// @sluice/web, or your own): any GET/HEAD/POST no API route answered is offered
// to the page handler; null falls through to the JSON 404.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Profile } from "../config/schema.ts";
import { type AppEnv, clientIp } from "./env.ts";

export interface PageHost {
  /**
   * The development token, present only when the broker minted one and the
   * request comes from a loopback address to a loopback host name (so neither
   * another machine nor a DNS-rebound site ever gets it).
   */
  devToken?: string;
  profiles: Readonly<Record<string, Profile>>;
  /** Origin of the storage endpoint in presigned URLs (for the page's Content-Security-Policy). */
  storageOrigin: string;
  /** The broker's own API, called in process with the same authentication and checks. */
  api(request: Request): Promise<Response>;
}

export type PageHandler = (
  request: Request,
  host: PageHost,
) => Response | null | undefined | Promise<Response | null | undefined>;

export function mountPages(
  app: OpenAPIHono<AppEnv>,
  options: {
    handler: PageHandler;
    host: Omit<PageHost, "devToken" | "api">;
    devToken: () => string | undefined;
  },
): void {
  app.on(["GET", "HEAD", "POST"], "*", async (c, next) => {
    const devToken = options.devToken();
    const local = isLoopbackAddress(clientIp(c)) && isLoopbackHost(new URL(c.req.url).hostname);
    const response = await options.handler(c.req.raw, {
      ...options.host,
      ...(devToken && local ? { devToken } : {}),
      api: async (request) => app.fetch(request, c.env),
    });
    if (response) return response;
    await next();
  });
}

function isLoopbackAddress(ip: string | undefined): boolean {
  return !!ip && (ip.startsWith("127.") || ip === "::1" || ip.startsWith("::ffff:127."));
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
