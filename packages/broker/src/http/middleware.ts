// Request logging + metrics, and authentication, as middleware factories.
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
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

/**
 * Hono's body limit without building the body stream when the request says its
 * length: a Content-Length (without Transfer-Encoding) is the HTTP parser's
 * framing, so the header alone decides. Hono's own check reads
 * `c.req.raw.body`, which on Node makes the adapter build a whole WHATWG
 * Request and stream for every request; chunked bodies still go through it.
 */
export function limitBody(options: { maxSize: number; onError: (c: Context) => never }): MiddlewareHandler {
  const streamed = bodyLimit(options);
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const length = c.req.header("content-length");
    if (length === undefined || c.req.header("transfer-encoding") !== undefined) return streamed(c, next);
    if (Number(length) > options.maxSize) options.onError(c);
    return next();
  };
}
