// createBroker: wires configuration, database, storage, auth, routes and the
// verification worker into one Web-standard Hono app (Request → Response).
import { OpenAPIHono } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import type { Logger } from "pino";
import { type AuthorizeHook, createAuthenticator } from "./auth/authenticate.ts";
import { signToken } from "./auth/jwt.ts";
import { resolveJwtSecret } from "./auth/secret.ts";
import type { BrokerConfig } from "./config/schema.ts";
import type { BrokerContext } from "./context.ts";
import { jobQueue } from "./db/jobs.ts";
import { defaultDatabaseUrl, type MetadataDb, openDatabase } from "./db/open.ts";
import { getUpload } from "./db/uploads.ts";
import type { AppEnv } from "./http/env.ts";
import { createErrorHandler, notFoundResponse } from "./http/errors.ts";
import { createLogger } from "./http/log.ts";
import { Metrics } from "./http/metrics.ts";
import { mountMiddleware } from "./http/pipeline.ts";
import { type CounterStore, createRateLimits } from "./http/rateLimit.ts";
import { isLocalRequest, type PageHost, type WebHandler } from "./http/web.ts";
import { mountRoutes } from "./routes/index.ts";
import { ensureBucket } from "./storage/bucket.ts";
import { createS3Client } from "./storage/s3.ts";
import { publicObjectUrl, storageTarget } from "./storage/target.ts";
import { scheduleSweeps } from "./uploads/sweeper.ts";
import { runJob } from "./verification/jobs.ts";
import { pipelineSteps, startPipeline } from "./verification/pipeline.ts";
import type { Scanner } from "./verification/scanners.ts";
import { createWorker, defaultWorkerId } from "./verification/worker.ts";
import { deliver, deliveryQueue } from "./webhooks/deliverer.ts";

export interface BrokerOptions {
  /** Your own authentication: return {tenant, user}, throw a SluiceError, or return null to use the built-in checks. */
  authorize?: AuthorizeHook;
  /** A pino logger; default JSON to stdout at config.log.level. */
  logger?: Logger;
  /** Content scanners (e.g. malware) run on every upload before it becomes ready. */
  scanners?: Scanner[];
  /** Run the in-process verification worker (default true). */
  worker?: boolean;
  /** Run the in-process webhook deliverer (default true). */
  webhooks?: boolean;
  /** Run the periodic sweeper (default true). */
  sweeper?: boolean;
  /** Web front-end for paths outside /v1/ and /l/ (e.g. @sluice/web's page at `/`). */
  web?: WebHandler;
  /** Create the bucket at start-up when missing (default true). */
  ensureBucket?: boolean;
  /** More checks /readyz reports (e.g. the embedded store's free disk space); false means not ready. */
  readiness?: Record<string, () => Promise<boolean>>;
}

export interface Broker {
  app: OpenAPIHono<AppEnv>;
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>;
  /** Development JWT (user "dev", tenant "local") when the HS256 secret was generated locally. */
  devToken?: string;
  context: BrokerContext;
  close(): Promise<void>;
}

export async function createBroker(config: BrokerConfig, options: BrokerOptions = {}): Promise<Broker> {
  const log = options.logger ?? createLogger(config.log.level);
  const target = storageTarget(config);
  const s3 = createS3Client(target);
  const database = await openDatabase(config.database.url ?? defaultDatabaseUrl(config.dataDir), {
    onConnectionError: (error) => log.warn({ err: error.message }, "database connection lost"),
    pool: config.database,
  });
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
    scanners: options.scanners ?? [],
    pipeline: {
      start: (trx, row) => startPipeline(trx, { ctx, row, steps: pipelineSteps(ctx, row) }),
    },
    readiness: options.readiness ?? {},
    kickWorker: () => worker.kick(),
    kickWebhooks: () => deliverer.kick(),
    ...(secret
      ? {
          signUserToken: (token: Parameters<NonNullable<BrokerContext["signUserToken"]>>[0]) =>
            signToken({ secret: secret.secret, jwt: config.auth.jwt, ...token }),
        }
      : {}),
    async waitForVerification(uploadId, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (worker.running && Date.now() < deadline) {
        const row = await getUpload(db, uploadId);
        if (row?.state !== "uploaded") return;
        await worker.idle(deadline - Date.now());
      }
    },
  };
  const { jobs } = config;
  const worker = createWorker({
    queue: jobQueue(db, {
      maxAttempts: jobs.attempts,
      backoff: { retryDelayMs: jobs.retryDelay * 1000, maxRetryDelayMs: jobs.maxRetryDelay * 1000 },
      workerId: jobs.workerId ?? defaultWorkerId(config.dataDir),
    }),
    log,
    handle: (job) => runJob(ctx, job),
    leaseMs: jobs.leaseTime * 1000,
    concurrency: jobs.concurrency,
  });
  const deliverer = createWorker({
    queue: deliveryQueue(ctx),
    log,
    handle: (delivery) => deliver(ctx, delivery),
    leaseMs: Math.max(60_000, config.webhooks.timeout * 2000),
  });

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
  const storageOrigin = new URL(publicObjectUrl(target)).origin;
  app.notFound(async (c) => {
    const path = c.req.path;
    if (!options.web || path.startsWith("/v1/") || path.startsWith("/l/")) return notFoundResponse();
    // The page's API calls keep the visitor's connection (client address for limits and audit).
    const page: PageHost = {
      profiles: config.profiles,
      storageOrigin,
      api: async (request) => app.fetch(request, c.env),
    };
    const host = devToken && isLocalRequest(c) ? { ...page, devToken } : page;
    return (await options.web(c.req.raw, host)) ?? notFoundResponse();
  });
  const rateLimits = createRateLimits({
    config: config.rateLimits,
    store: counterStore(config, database.pool),
    log,
  });
  await rateLimits.ready();
  mountMiddleware(app, {
    config,
    log,
    metrics,
    rateLimits,
    authenticate: createAuthenticator({ config, db, secret: secret?.secret, authorize: options.authorize }),
  });
  mountRoutes(app, ctx);

  const devToken: string | undefined =
    secret?.generated && config.auth.devToken
      ? await signToken({ secret: secret.secret, tenant: "local", user: "dev", jwt: config.auth.jwt })
      : undefined;

  if (options.worker ?? true) worker.start();
  if (options.webhooks ?? true) deliverer.start();
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
      await deliverer.stop();
      await rateLimits.close();
      s3.destroy();
      await database.close();
    },
  };
}

function counterStore(config: BrokerConfig, pool: MetadataDb["pool"]): CounterStore {
  const { store } = config.rateLimits;
  if (store === "memory") return { kind: "memory" };
  if (store !== "postgres") return { kind: "redis", url: store };
  // The schema refuses rateLimits.store postgres without a postgres database.url.
  if (!pool) throw new Error("rateLimits.store postgres needs a PostgreSQL database");
  return { kind: "postgres", pool };
}
