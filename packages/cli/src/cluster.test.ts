// The scale-out configuration as one system (CI tier): three `sluice serve`
// processes on one PostgreSQL and one Redis, storage on Ceph RGW, every request
// to a random broker. Uploads, share-link counts, a shared rate limit and key
// revocation must hold across the three, and a broker SIGKILLed mid-run loses
// no upload.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DeleteTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { createApiKey, mintToken, parseConfig, setupBucketEvents } from "@sluice/broker";
import { createClient, type SluiceClient } from "@sluice/client";
import {
  type PostgresServer,
  postgresBinaries,
  postgresTier,
  type RedisServer,
  redisTier,
  rgwTier,
  startPostgres,
  startRedis,
} from "@sluice/core/testing";
import pg from "pg";
import type { Serve } from "./test/cli.ts";
import { startBrokers } from "./test/cluster.ts";

const MiB = 1024 * 1024;
const GRANT_LIMIT = 100;

function firstMissing(): string | undefined {
  for (const tier of [rgwTier(), redisTier(), postgresTier(), postgresBinaries()]) {
    if (!tier.available) return tier.reason;
  }
  return undefined;
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** Sizes of the 200 uploads: mostly small, some a few MiB, some multipart (three 5 MiB parts). */
function uploadSize(i: number): number {
  if (i % 20 === 0) return 11 * MiB;
  if (i % 5 === 0) return 2 * MiB + i;
  return 1000 + ((i * 7919) % 100_000);
}

/**
 * What a balancer does: each request to a random broker; a broker that refuses
 * the connection is taken out of rotation and the request goes to another
 * (nothing was sent). A request cut mid-way fails, and the SDK retries it.
 */
function balancedFetch(brokers: () => string[], down: Set<string>): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    for (;;) {
      const live = brokers().filter((b) => !down.has(b));
      const target = live[Math.floor(Math.random() * live.length)];
      if (!target) throw new TypeError("no broker is reachable");
      const routed = new URL(url.pathname + url.search, target);
      try {
        return await fetch(routed, init);
      } catch (error) {
        const code = (error as { cause?: { code?: string } }).cause?.code;
        if (code !== "ECONNREFUSED") throw error;
        down.add(target);
      }
    }
  };
}

describe("cluster: three brokers on PostgreSQL and Redis, storage on Ceph RGW", {
  skip: firstMissing() ?? false,
}, () => {
  let root: string;
  let redis: RedisServer;
  let postgres: PostgresServer;
  const brokers: Serve[] = [];
  let configInput: Record<string, unknown>;
  let topic: string | undefined;
  const down = new Set<string>();
  const urls = () => brokers.map((b) => b.url);
  const clientFor = async (user: string): Promise<SluiceClient> =>
    createClient({
      endpoint: "http://balancer.invalid",
      token: await mintToken(parseConfig(configInput), { tenant: "acme", user }),
      fetch: balancedFetch(urls, down),
      resumeStore: false,
    });

  before(async () => {
    const rgw = rgwTier();
    const binaries = postgresBinaries();
    if (!rgw.available || !binaries.available) return;
    root = await mkdtemp(join(tmpdir(), "sluice-cluster-"));
    [redis, postgres] = await Promise.all([startRedis(), startPostgres(binaries.value)]);
    configInput = {
      storage: {
        ...rgw.value,
        bucket: `sluice-cluster-${randomBytes(4).toString("hex")}`,
        capabilities: { checksums: false },
      },
      // 300 grants at once queue for pool connections: room enough on a loaded CI machine.
      database: { url: postgres.url, poolSize: 20, connectTimeout: "15s" },
      auth: { jwt: { secret: randomBytes(32).toString("hex") } },
      events: { token: randomBytes(24).toString("hex") },
      rateLimits: { store: redis.url, grantsPerMinutePerUser: GRANT_LIMIT },
      quotas: { maxPendingPerUser: 1000 },
      // A job held by a killed broker is taken over by another after this long.
      jobs: { leaseTime: "4s" },
      profiles: { default: { maxSize: "1GB", multipartThreshold: "6MB", partSize: "5MB" } },
      log: { level: "warn" },
    };
    brokers.push(...(await startBrokers({ root, config: configInput, count: 3 })));
    // RGW pushes new-object events to the first broker (the one never killed).
    topic = (await setupBucketEvents(parseConfig(configInput), { pushEndpoint: `${urls()[0]}/v1/events/s3` }))
      .arn;
  });
  after(async () => {
    await Promise.all(brokers.map((b) => b.stop()));
    const rgw = rgwTier();
    if (topic && rgw.available) {
      // RGW keeps a delivery queue per persistent topic: leave none behind for later tests.
      const { endpoint, region, accessKeyId, secretAccessKey } = rgw.value;
      const sns = new SNSClient({ endpoint, region, credentials: { accessKeyId, secretAccessKey } });
      await sns.send(new DeleteTopicCommand({ TopicArn: topic }));
      sns.destroy();
    }
    await redis?.stop();
    await postgres?.destroy();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("200 uploads from 20 clients, requests spread over the brokers, one SIGKILLed mid-run: all ready, same bytes", async (t) => {
    const total = 200;
    let finished = 0;
    let killedAt: number | undefined;
    const settledAfterKill: number[] = [];
    const upload = async (client: SluiceClient, i: number) => {
      const data = randomBytes(uploadSize(i));
      const { id } = await client.upload(new Blob([data]), {
        profile: "default",
        name: `f${i}.bin`,
        type: "application/octet-stream",
      });
      const settled = await client.waitUntilSettled(id, { timeoutMs: 60_000 });
      assert.equal(
        settled.state,
        "ready",
        `upload ${i} (${data.length} B): ${settled.state} ${settled.reason ?? ""}`,
      );
      if (killedAt !== undefined) settledAfterKill.push(Date.now() - killedAt);
      const { url } = await client.download(id);
      const stored = new Uint8Array(await (await fetch(url)).arrayBuffer());
      assert.equal(sha256(stored), sha256(data), `upload ${i} has the bytes that were sent`);
      finished++;
      if (finished === total / 2 && killedAt === undefined) {
        // SIGKILL: no drain, no goodbye; its leases and half-done requests stay behind.
        const victim = brokers[1];
        assert.ok(victim);
        victim.child.kill("SIGKILL");
        killedAt = Date.now();
      }
    };
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 20 }, async (_, c) => {
        const client = await clientFor(`user-${c}`);
        try {
          for (let i = c; i < total; i += 20) await upload(client, i);
        } finally {
          client.close();
        }
      }),
    );
    assert.ok(killedAt !== undefined, "a broker was killed mid-run");
    t.diagnostic(
      `200 uploads in ${Date.now() - started} ms; after the SIGKILL, ${settledAfterKill.length} settled, the last ${Math.max(...settledAfterKill)} ms after it`,
    );
  });

  it("a share link limited to 5 downloads, hit 50 times at once through the live brokers: exactly 5 redirects", async () => {
    const client = await clientFor("sharer");
    try {
      const { id } = await client.upload(new Blob([randomBytes(1000)]), {
        profile: "default",
        name: "shared.bin",
      });
      assert.equal((await client.waitUntilSettled(id)).state, "ready");
      const link = await client.share(id, { maxDownloads: 5 });
      const live = urls().filter((u) => !down.has(u) && u !== urls()[1]);
      const statuses = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const res = await fetch(new URL(new URL(link.url).pathname, live[i % live.length]), {
            redirect: "manual",
          });
          await res.body?.cancel();
          return res.status;
        }),
      );
      assert.equal(statuses.filter((s) => s === 302).length, 5);
      assert.ok(
        statuses.every((s) => s === 302 || (s >= 400 && s < 500)),
        `no 5xx: ${statuses.join(",")}`,
      );
    } finally {
      client.close();
    }
  });

  it(`a limit of ${GRANT_LIMIT} grants a minute holds across the brokers: 300 concurrent grants, exactly ${GRANT_LIMIT} pass`, async () => {
    const token = await mintToken(parseConfig(configInput), { tenant: "acme", user: "hammer" });
    const live = urls().filter((u) => u !== urls()[1]);
    const statuses = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const res = await fetch(`${live[i % live.length]}/v1/uploads`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ name: "x.txt", size: 10, type: "text/plain" }),
        });
        await res.body?.cancel();
        return res.status;
      }),
    );
    const counts: Record<number, number> = {};
    for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
    assert.equal(statuses.filter((s) => s === 201).length, GRANT_LIMIT, JSON.stringify(counts));
    assert.equal(statuses.filter((s) => s === 429).length, 300 - GRANT_LIMIT, JSON.stringify(counts));
  });

  it("an API key revoked through one broker is refused by the others at once", async () => {
    const { id, key } = await createApiKey(parseConfig(configInput), { tenant: "acme", user: "robot" });
    const live = urls().filter((u) => u !== urls()[1]);
    const asKey = (url: string) => fetch(`${url}/v1/files`, { headers: { "x-api-key": key } });
    for (const url of live) assert.equal((await asKey(url)).status, 200);
    // The revocation is one write to the shared database, whichever broker makes it.
    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    try {
      await db.query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2", [Date.now(), id]);
    } finally {
      await db.end();
    }
    for (const url of live) assert.equal((await asKey(url)).status, 401, `${url} refuses the revoked key`);
  });
});
