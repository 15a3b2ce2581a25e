// Fixed-window rate limits through rate-limiter-flexible, one interface over
// three counter stores: per-process memory (one broker), Redis or PostgreSQL
// (several brokers share one count). The library, not a hand-written counter:
// each backend needs an atomic increment-with-expiry (a Lua script on Redis,
// an upsert on PostgreSQL) that is easy to get subtly wrong.
import { createHash } from "node:crypto";
import { errors, SluiceError } from "@sluice/core";
import { Redis } from "ioredis";
import type pg from "pg";
import type { Logger } from "pino";
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import type { BrokerConfig } from "../config/schema.ts";

/** Where the counters live: `memory`, `postgres` (the metadata database) or a redis:// URL. */
export type CounterStore =
  | { kind: "memory" }
  | { kind: "postgres"; pool: pg.Pool }
  | { kind: "redis"; url: string };

/** What a limit does when its counter store cannot answer: refuse (503) or let the request through. */
export type WhenStoreDown = "closed" | "open";

export interface RateLimit {
  /** Counts one hit for `key`: throws 429 with Retry-After over the limit, 503 when the store is down and the limit fails closed. */
  hit(key: string): Promise<void>;
}

export interface RateLimits {
  /** Per client address, on every request but the probes. */
  requests?: RateLimit;
  /** Per user, on POST /v1/uploads. */
  grants?: RateLimit;
  /** Resolves once the counter store is connected or has failed to connect; never rejects. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** The table the PostgreSQL counters live in (created by migration 0009_rate_limits). */
export const RATE_LIMIT_TABLE = "rate_limits";

// rate-limiter-flexible keeps keys in a varchar(255) on PostgreSQL; user ids are the app's and may be long.
function storeKey(key: string): string {
  return key.length <= 200 ? key : createHash("sha256").update(key).digest("base64url");
}

export function createRateLimits(options: {
  config: BrokerConfig["rateLimits"];
  store: CounterStore;
  log: Logger;
}): RateLimits {
  const { config, store, log } = options;
  const redis =
    store.kind === "redis"
      ? new Redis(store.url, {
          // Fail fast while Redis is away (the limit's own fail mode decides), reconnect in the background.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2000,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        })
      : undefined;

  // One line when the counter store goes away, one when it is back: a flapping store must not flood the log.
  let down = false;
  const storeFailed = (error: Error) => {
    if (down) return;
    down = true;
    log.warn({ store: store.kind, err: error.message }, "rate-limit store unavailable");
  };
  const storeAnswered = () => {
    if (!down) return;
    down = false;
    log.info({ store: store.kind }, "rate-limit store available again");
  };
  redis?.on("error", storeFailed);
  redis?.on("ready", storeAnswered);

  const limiterFor = (keyPrefix: string, points: number): RateLimiterAbstract => {
    const base = { keyPrefix, points, duration: 60 };
    switch (store.kind) {
      case "memory":
        return new RateLimiterMemory(base);
      case "redis":
        return new RateLimiterRedis({ ...base, storeClient: redis, rejectIfRedisNotReady: true });
      case "postgres":
        return new RateLimiterPostgres({
          ...base,
          storeClient: store.pool,
          tableName: RATE_LIMIT_TABLE,
          tableCreated: true,
        });
    }
  };

  const limit = (keyPrefix: string, points: number, whenDown: WhenStoreDown): RateLimit => {
    const limiter = limiterFor(keyPrefix, points);
    return {
      async hit(key) {
        try {
          await limiter.consume(storeKey(key));
          storeAnswered();
        } catch (outcome) {
          if (outcome instanceof RateLimiterRes) {
            storeAnswered();
            throw errors.tooManyRequests(outcome.msBeforeNext / 1000);
          }
          storeFailed(outcome instanceof Error ? outcome : new Error(String(outcome)));
          if (whenDown === "closed") {
            throw new SluiceError({
              code: "RateLimitUnavailable",
              status: 503,
              message: "Rate limits cannot be checked right now; retry shortly",
              headers: { "retry-after": "1" },
            });
          }
        }
      },
    };
  };

  return {
    requests: config.requestsPerMinutePerIp
      ? limit("ip", config.requestsPerMinutePerIp, config.whenStoreDown.requests)
      : undefined,
    grants: config.grantsPerMinutePerUser
      ? limit("grant", config.grantsPerMinutePerUser, config.whenStoreDown.grants)
      : undefined,
    ready() {
      // A broker that serves before its first Redis connection would refuse its first grants with 503.
      const client = redis;
      if (!client || client.status === "ready") return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          client.off("ready", done);
          client.off("error", done);
          resolve();
        };
        const timer = setTimeout(done, 2000);
        client.once("ready", done);
        client.once("error", done);
      });
    },
    async close() {
      redis?.disconnect();
    },
  };
}
