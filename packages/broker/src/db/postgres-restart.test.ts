// A PostgreSQL restart under load: requests fail with 503 (never 500) while the
// server is away, and the broker recovers on its own, without a restart.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type PostgresServer, postgresBinaries, postgresTier, startPostgres } from "@sluice/core/testing";
import { type Harness, startHarness } from "../test/harness.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The private server needs the same Debian package as the PostgreSQL tier.
const tier = postgresTier();
const binaries = tier.available ? postgresBinaries() : tier;

describe("PostgreSQL restart during load", { skip: binaries.available ? false : binaries.reason }, () => {
  let server: PostgresServer;
  let broker: Harness;
  before(async () => {
    if (!binaries.available) return;
    server = await startPostgres(binaries.value);
    broker = await startHarness({ config: { database: { url: server.url, connectTimeout: "1s" } } });
  });
  after(async () => {
    await broker?.close();
    await server?.destroy();
  });

  it("answers 503 with Retry-After while the database is down, then serves again within seconds", async (t) => {
    const outcomes: Array<{ at: number; status: number; code?: string }> = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        const res = await broker.api("/v1/files");
        const body = (await res.json()) as { error?: { code: string } };
        outcomes.push({ at: Date.now(), status: res.status, code: body.error?.code });
        if (res.status === 503) assert.equal(res.headers.get("retry-after"), "1");
        await sleep(20);
      }
    })();

    await sleep(500);
    await server.stop();
    const downAt = Date.now();
    await sleep(1500);
    await server.start();
    const upAt = Date.now();
    const deadline = upAt + 10_000;
    let recoveredAt: number | undefined;
    while (Date.now() < deadline && recoveredAt === undefined) {
      await sleep(50);
      recoveredAt = outcomes.find((o) => o.at > upAt && o.status === 200)?.at;
    }
    loading = false;
    await load;

    const statuses = new Set(outcomes.map((o) => o.status));
    assert.deepEqual(
      [...statuses].sort(),
      [200, 503],
      "only successes and 503s: no 500 for a database outage",
    );
    assert.ok(
      outcomes.filter((o) => o.status === 503).every((o) => o.code === "DatabaseUnavailable"),
      "503s name the cause",
    );
    assert.ok(
      outcomes.some((o) => o.at > downAt && o.status === 503),
      "the outage was seen by requests (the test really stopped the server)",
    );
    assert.ok(
      recoveredAt !== undefined,
      "the broker serves again after PostgreSQL is back, without a restart",
    );
    t.diagnostic(
      `down ${upAt - downAt} ms; first success ${recoveredAt - upAt} ms after PostgreSQL was back`,
    );
    assert.ok(recoveredAt - upAt < 5000, `recovered ${recoveredAt - upAt} ms after PostgreSQL was back`);
    // Every request after recovery succeeds: no poisoned pool connections left behind.
    assert.ok(outcomes.filter((o) => o.at > recoveredAt).every((o) => o.status === 200));
  });
});
