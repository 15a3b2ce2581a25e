// Rate limits shared by several brokers (Redis, PostgreSQL), and what a broker
// does when its counter store goes away and comes back.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RedisServer, redisTier, startRedis } from "@sluice/core/testing";
import pino from "pino";
import { parseConfig } from "../config/load.ts";
import { testDatabases } from "../test/databases.ts";
import { type Harness, startHarness } from "../test/harness.ts";

const LIMIT = 7;

function nth<T>(list: T[], index: number): T {
  const item = list[index];
  assert.ok(item !== undefined, `item ${index} exists`);
  return item;
}
const grantBody = { name: "a.txt", size: 10, type: "text/plain" };

/** 50 grants at once for one user, spread over the brokers in turn: the statuses counted. */
async function burst(brokers: Harness[], user: string): Promise<Record<number, number>> {
  const statuses = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const res = await nth(brokers, i % brokers.length).api("/v1/uploads", {
        method: "POST",
        json: grantBody,
        as: user,
      });
      await res.body?.cancel();
      return res.status;
    }),
  );
  const counts: Record<number, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

function sharedLimitConfig(store: string) {
  return {
    rateLimits: { grantsPerMinutePerUser: LIMIT, requestsPerMinutePerIp: 1000, store },
    quotas: { maxPendingPerUser: 1000 },
  };
}

const redis = redisTier();
describe("rate limits in Redis, shared by two brokers", {
  skip: redis.available ? false : redis.reason,
}, () => {
  let server: RedisServer;
  let brokers: Harness[] = [];
  const logLines: string[] = [];
  before(async () => {
    server = await startRedis();
    const logger = pino({ level: "info" }, { write: (line: string) => logLines.push(line) });
    brokers = await Promise.all(
      [logger, undefined].map((logger) =>
        startHarness({ config: sharedLimitConfig(server.url), broker: logger ? { logger } : undefined }),
      ),
    );
  });
  after(async () => {
    await Promise.all(brokers.map((b) => b.close()));
    await server?.stop();
  });

  it("50 concurrent grants through both brokers: exactly the limit pass, the rest get 429 with Retry-After", async () => {
    assert.deepEqual(await burst(brokers, "carol"), { 201: LIMIT, 429: 50 - LIMIT });
    const res = await nth(brokers, 1).api("/v1/uploads", { method: "POST", json: grantBody, as: "carol" });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get("retry-after")) >= 1);
    assert.equal(
      (await nth(brokers, 0).api("/v1/uploads", { method: "POST", json: grantBody, as: "dave" })).status,
      201,
    );
  });

  it("Redis down: grants fail closed with 503, other requests keep being served; back when Redis returns", async () => {
    await server.stop();
    for (let i = 0; i < 10; i++) {
      const res = await nth(brokers, 0).api("/v1/uploads", { method: "POST", json: grantBody, as: "erin" });
      assert.equal(res.status, 503);
      await res.body?.cancel();
    }
    const refused = await nth(brokers, 0).api("/v1/uploads", { method: "POST", json: grantBody, as: "erin" });
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "RateLimitUnavailable");
    assert.equal(refused.headers.get("retry-after"), "1");
    // The per-IP limit fails open by default: listing still works.
    assert.equal((await nth(brokers, 1).api("/v1/files", { as: "erin" })).status, 200);

    await server.start();
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline) {
      const res = await nth(brokers, 0).api("/v1/uploads", { method: "POST", json: grantBody, as: "erin" });
      await res.body?.cancel();
      status = res.status;
      if (status === 201) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status, 201, "grants are served again once Redis is back, without a restart");
    const said = (text: string) => logLines.filter((line) => line.includes(text)).length;
    // Once per outage, not per refused request (a reconnect that flaps may add a line, never one per request).
    assert.ok(said("rate-limit store unavailable") >= 1, "the outage is logged");
    assert.ok(said("rate-limit store unavailable") <= 2, "…once, not for each of the refused grants");
    assert.ok(said("rate-limit store available again") >= 1, "the recovery is logged");
    assert.ok(
      !logLines.some((line) => line.includes(server.url)),
      "the Redis URL (it may hold a password) is not logged",
    );
  });
});

describe("rate limits fail open when configured so", { skip: redis.available ? false : redis.reason }, () => {
  it("a grant passes while Redis is down", async () => {
    const server = await startRedis();
    const broker = await startHarness({
      config: {
        rateLimits: { grantsPerMinutePerUser: 1, store: server.url, whenStoreDown: { grants: "open" } },
      },
    });
    try {
      await server.stop();
      for (let i = 0; i < 3; i++) {
        const res = await broker.api("/v1/uploads", { method: "POST", json: grantBody });
        assert.equal(res.status, 201, "no limit is enforced while its store is away");
      }
    } finally {
      await broker.close();
      await server.stop();
    }
  });
});

const postgres = testDatabases().find((d) => d.name === "postgres");
describe("rate limits in PostgreSQL, shared by two brokers", { skip: postgres?.skip ?? false }, () => {
  const brokers: Harness[] = [];
  let drop: (() => Promise<void>) | undefined;
  before(async () => {
    if (!postgres) throw new Error("no postgres entry in the database matrix");
    const created = await postgres.create();
    drop = created.drop;
    // One after the other: the first migrates the database the second then finds ready.
    for (let i = 0; i < 2; i++) {
      brokers.push(await startHarness({ databaseUrl: created.url, config: sharedLimitConfig("postgres") }));
    }
  });
  after(async () => {
    await Promise.all(brokers.map((b) => b.close()));
    await drop?.();
  });

  it("50 concurrent grants through both brokers: exactly the limit pass", async () => {
    assert.deepEqual(await burst(brokers, "carol"), { 201: LIMIT, 429: 50 - LIMIT });
  });
});

describe("rate-limit configuration", () => {
  const storage = { endpoint: "http://127.0.0.1:1", accessKeyId: "a", secretAccessKey: "b" };
  it("refuses store postgres without a PostgreSQL database, naming the field", () => {
    assert.throws(
      () => parseConfig({ storage, rateLimits: { store: "postgres", grantsPerMinutePerUser: 3 } }),
      /rateLimits\.store/,
    );
  });
  it("refuses a store that is neither memory, postgres nor a redis URL", () => {
    assert.throws(() => parseConfig({ storage, rateLimits: { store: "mongo://x" } }), /rateLimits\.store/);
  });
});
