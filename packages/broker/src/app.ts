// createBroker: wires configuration, database, storage, auth, routes and the
// verification worker into one Web-standard Hono app (Request → Response).
import { OpenAPIHono } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { Logger } from "pino";
import { type AuthorizeHook, createAuthenticator } from "./auth/authenticate.ts";
import { signToken } from "./auth/jwt.ts";
import { resolveJwtSecret } from "./auth/secret.ts";
import type { BrokerConfig } from "./config/schema.ts";
import type { BrokerContext } from "./context.ts";
import { defaultDatabaseUrl, openDatabase } from "./db/open.ts";
import { getUpload } from "./db/uploads.ts";
import { type AppEnv, clientIp } from "./http/env.ts";
import { createErrorHandler, notFoundResponse } from "./http/errors.ts";
import { createLogger } from "./http/log.ts";
import { Metrics } from "./http/metrics.ts";
import { requestLog, requireAuth } from "./http/middleware.ts";
import { RateLimiter } from "./http/rateLimit.ts";
import { isLocalRequest, type PageHost, type WebHandler } from "./http/web.ts";
import { eventRoutes } from "./routes/events.ts";
import { fileRoutes } from "./routes/files.ts";
import { healthRoutes } from "./routes/health.ts";
import { linkRoutes, publicLinkRoutes } from "./routes/links.ts";
import { uploadRoutes } from "./routes/uploads.ts";
import { ensureBucket } from "./storage/bucket.ts";
import { createS3Client } from "./storage/s3.ts";
import { storageTarget } from "./storage/target.ts";
import { scheduleSweeps } from "./uploads/sweeper.ts";
import { verifyUpload } from "./verification/verify.ts";
import { createWorker } from "./verification/worker.ts";

export interface BrokerOptions {
  /** Your own authentication: return {tenant, user}, throw a SluiceError, or return null to use the built-in checks. */
  authorize?: AuthorizeHook;
  /** A pino logger; default JSON to stdout at config.log.level. */
  logger?: Logger;
  /** Run the in-process verification worker (default true). */
  worker?: boolean;
  /** Run the periodic sweeper (default true). */
  sweeper?: boolean;
  /** Web front-end for paths outside /v1/ and /l/ (e.g. @sluice/web's page at `/`). */
  web?: WebHandler;
  /** Create the bucket at start-up when missing (default true). */
  ensureBucket?: boolean;
}

export interface Broker {
  app: OpenAPIHono<AppEnv>;
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>;
  /** Development JWT (user "dev", tenant "local") when the HS256 secret was generated locally. */
  devToken?: string;
  context: BrokerContext;
  close(): Promise<void>;
}

const TRUSTED_PROFILE_FREE_PATHS = new Set(["/healthz", "/readyz", "/metrics", "/openapi.json"]);

export async function createBroker(config: BrokerConfig, options: BrokerOptions = {}): Promise<Broker> {
  const log = options.logger ?? createLogger(config.log.level);
  const target = storageTarget(config);
  for (const [name, profile] of Object.entries(config.profiles)) {
    if (profile.derivatives?.length)
      log.warn({ profile: name }, "image derivatives are not implemented yet: ignored");
  }
  const s3 = createS3Client(target);
  const database = await openDatabase(config.database.url ?? defaultDatabaseUrl(config.dataDir));
  const { db } = database;
  const secret = resolveJwtSecret(config);
  const metrics = new Metrics();

  const ctx: BrokerContext = {
    config,
    db,
    s3,
    target,
    log,
    metrics,
    kickWorker: () => worker.kick(),
    async waitForVerification(uploadId, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (worker.running && Date.now() < deadline) {
        const row = await getUpload(db, uploadId);
        if (row?.state !== "uploaded") return;
        await worker.idle(deadline - Date.now());
      }
    },
  };
  const worker = createWorker({ db, log, handle: (job) => verifyUpload(ctx, job.upload_id) });

  if (options.ensureBucket ?? true) {
    try {
      await ensureBucket(s3, target.bucket);
    } catch (error) {
      await database.close();
      throw errors.unavailable(
        `Storage at ${target.endpoint} is unreachable or refused the bucket: ${(error as Error).name}`,
        "StorageUnavailable",
      );
    }
  }

  const app = new OpenAPIHono<AppEnv>();
  app.onError(createErrorHandler(log));
  let page: PageHost | undefined;
  app.notFound(async (c) => {
    const path = c.req.path;
    if (!options.web || path.startsWith("/v1/") || path.startsWith("/l/")) return notFoundResponse();
    page ??= { profiles: config.profiles, storageOrigin: new URL(target.publicEndpoint).origin };
    const host = devToken && isLocalRequest(c) ? { ...page, devToken } : page;
    return (await options.web(c.req.raw, host)) ?? notFoundResponse();
  });
  app.use("*", requestLog({ log, metrics }));
  app.use("*", async (c, next) => {
    c.set("ip", clientIp(c, config.server.trustProxy));
    await next();
  });
  if (config.rateLimits.requestsPerMinutePerIp) {
    const perIp = new RateLimiter(config.rateLimits.requestsPerMinutePerIp);
    app.use("*", async (c, next) => {
      if (!TRUSTED_PROFILE_FREE_PATHS.has(c.req.path)) perIp.hit(c.get("ip") ?? "unknown");
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
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: config.server.bodyLimit,
      onError: () => {
        throw errors.tooLarge("Request body too large", "BodyTooLarge");
      },
    }),
  );
  const userAuth = requireAuth(
    createAuthenticator({ config, db, secret: secret?.secret, authorize: options.authorize }),
  );
  // Storage events authenticate with their own token (routes/events.ts).
  app.use("/v1/*", (c, next) => (c.req.path === "/v1/events/s3" ? next() : userAuth(c, next)));
  if (config.rateLimits.grantsPerMinutePerUser) {
    const perUser = new RateLimiter(config.rateLimits.grantsPerMinutePerUser);
    app.post("/v1/uploads", async (c, next) => {
      const p = c.get("principal");
      perUser.hit(`${p.tenant}\u0000${p.user}`);
      await next();
    });
  }

  app.route("/", uploadRoutes(ctx));
  app.route("/", fileRoutes(ctx));
  app.route("/", linkRoutes(ctx));
  app.route("/", publicLinkRoutes(ctx));
  app.route("/", eventRoutes(ctx));
  app.route("/", healthRoutes(ctx));
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "eventsToken", { type: "http", scheme: "bearer" });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Sluice broker",
      version: "1",
      description: "Presigned, narrowly scoped grants for direct uploads and downloads",
    },
    security: [{ bearer: [] }],
  });

  const devToken: string | undefined =
    secret?.generated && config.auth.devToken
      ? await signToken({ secret: secret.secret, tenant: "local", user: "dev", jwt: config.auth.jwt })
      : undefined;

  if (options.worker ?? true) worker.start();
  const stopSweeps = (options.sweeper ?? true) ? scheduleSweeps(ctx) : async () => {};
  let closed = false;
  return {
    app,
    fetch: (request, env) => app.fetch(request, env),
    devToken,
    context: ctx,
    async close() {
      if (closed) return;
      closed = true;
      await stopSweeps();
      await worker.stop();
      s3.destroy();
      await database.close();
    },
  };
}
