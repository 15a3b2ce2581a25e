// Request logging + metrics, and authentication, as middleware factories.
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Logger } from "pino";
import type { Authenticate } from "../auth/authenticate.ts";
import type { AppEnv } from "./env.ts";
import type { Metrics } from "./metrics.ts";

export function requestLog(options: { log: Logger; metrics: Metrics }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    // Token-bearing paths (/l/:token) are logged by their route pattern.
    const route = routePath(c) || "unmatched";
    options.metrics.inc(
      "sluice_http_requests_total",
      { method: c.req.method, route, status: String(c.res.status) },
      "HTTP requests",
    );
    options.metrics.observeRequest(route, seconds);
    options.log.info(
      { method: c.req.method, route, status: c.res.status, ms: Math.round(seconds * 1000) },
      "request",
    );
  };
}

export function requireAuth(authenticate: Authenticate): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("principal", await authenticate(c.req.raw));
    await next();
  };
}
