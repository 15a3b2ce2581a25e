// The middleware every request passes, in order: request log + metrics,
// client address, per-IP rate limit, CORS, body limit, authentication
// (storage events excepted), per-user grant rate limit.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { Logger } from "pino";
import type { Authenticate } from "../auth/authenticate.ts";
import type { BrokerConfig } from "../config/schema.ts";
import { type AppEnv, clientIp } from "./env.ts";
import type { Metrics } from "./metrics.ts";
import { limitBody, requestLog, requireAuth } from "./middleware.ts";
import { isOneRequestUpload, ONE_REQUEST_PREFIX } from "./one-request.ts";
import type { RateLimits } from "./rateLimit.ts";

/** Probes and documents are never rate-limited. */
const UNLIMITED_PATHS = new Set(["/healthz", "/readyz", "/metrics", "/openapi.json"]);

export function mountMiddleware(
  app: OpenAPIHono<AppEnv>,
  options: {
    config: BrokerConfig;
    log: Logger;
    metrics: Metrics;
    authenticate: Authenticate;
    rateLimits: RateLimits;
  },
): void {
  const { config, log, metrics, rateLimits } = options;
  app.use("*", requestLog({ log, metrics }));
  app.use("*", async (c, next) => {
    c.set("ip", clientIp(c, config.server.trustProxy));
    await next();
  });
  const perIp = rateLimits.requests;
  if (perIp) {
    app.use("*", async (c, next) => {
      if (!UNLIMITED_PATHS.has(c.req.path)) await perIp.hit(c.get("ip") ?? "unknown");
      await next();
    });
  }
  if (config.cors.origins.length > 0) {
    app.use(
      "/v1/*",
      cors({
        origin: config.cors.origins,
        allowHeaders: ["authorization", "content-type", "x-api-key"],
        maxAge: 600,
      }),
    );
  }
  // A one-request upload declares the file's size but sends its body to storage (routes/put.ts).
  const limited = limitBody({
    maxSize: config.server.bodyLimit,
    onError: () => {
      throw errors.tooLarge("Request body too large", "BodyTooLarge");
    },
  });
  app.use("/v1/*", (c, next) => (isOneRequestUpload(c.req.path) ? next() : limited(c, next)));
  const userAuth = requireAuth(options.authenticate);
  // Storage events authenticate with their own token (routes/events.ts).
  app.use("/v1/*", (c, next) => (c.req.path === "/v1/events/s3" ? next() : userAuth(c, next)));
  const perUser = rateLimits.grants;
  if (perUser) {
    const countGrant: MiddlewareHandler<AppEnv> = async (c, next) => {
      const p = c.get("principal");
      await perUser.hit(`${p.tenant}/${encodeURIComponent(p.user)}`);
      await next();
    };
    app.post("/v1/uploads", countGrant);
    app.put(`${ONE_REQUEST_PREFIX}*`, countGrant);
  }
}
