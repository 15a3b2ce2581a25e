// Grants per second and p99 latency at 50 concurrent clients for
// POST /v1/uploads (JWT + validation + DB write + presign) on SQLite and, when
// the tier is up, PostgreSQL; baseline: the bare signer behind the same
// framework (Hono on @hono/node-server) in the same run. The clients share the
// machine (in a worker thread), so absolute figures are lower bounds.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { serve } from "@hono/node-server";
import { printTable } from "@sluice/core/bench";
import { objectUrl, presignUrl } from "@sluice/sigv4";
import { startStore } from "@sluice/store";
import { Hono } from "hono";
import pg from "pg";
import pino from "pino";
import { signToken } from "../src/auth/jwt.ts";
import { parseConfig } from "../src/config/load.ts";
import { startBroker } from "../src/server.ts";

const CONCURRENCY = 50;
const DURATION_MS = Number(process.env.SLUICE_BENCH_MS ?? 5000);
const SECRET = "bench-secret-bench-secret-bench-secret-0123";

// The clients run in a worker thread so that they do not share the broker's event loop.
const CLIENTS = `
const { parentPort, workerData: w } = require("node:worker_threads");
(async () => {
  const latencies = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + w.durationMs;
  await Promise.all(Array.from({ length: w.concurrency }, async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      const res = await fetch(w.url, { method: "POST", body: w.body, headers: w.headers });
      await res.arrayBuffer();
      if (res.status >= 300) errors++;
      latencies.push(performance.now() - t);
    }
  }));
  parentPort.postMessage({ latencies, errors, elapsed: performance.now() - started });
})();
`;

async function load(request: { url: string; body: string; headers: Record<string, string> }) {
  const worker = new Worker(CLIENTS, {
    eval: true,
    workerData: { ...request, concurrency: CONCURRENCY, durationMs: DURATION_MS },
  });
  const result = await new Promise<{ latencies: number[]; errors: number; elapsed: number }>(
    (resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    },
  );
  await worker.terminate();
  const latencies = result.latencies.sort((a, b) => a - b);
  return {
    perSecond: (latencies.length * 1000) / result.elapsed,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    errors: result.errors,
  };
}

async function bareSigner(credentials: { accessKeyId: string; secretAccessKey: string }, endpoint: string) {
  const app = new Hono();
  app.post("/sign", async (c) => {
    const body = (await c.req.json()) as { name: string; size: number; type: string };
    const url = presignUrl({
      method: "PUT",
      url: objectUrl({
        endpoint,
        bucket: "sluice",
        key: `t/u/${randomBytes(8).toString("hex")}/${body.name}`,
      }),
      credentials,
      region: "us-east-1",
      expiresIn: 900,
      headers: { "content-length": String(body.size), "content-type": body.type, "if-none-match": "*" },
    });
    return c.json({ url });
  });
  let server: ReturnType<typeof serve> | undefined;
  const address = await new Promise<AddressInfo>((resolve) => {
    server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, resolve);
  });
  return { url: `http://127.0.0.1:${address.port}/sign`, close: () => server?.close() };
}

export default async function grantsBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-"));
  const credentials = { accessKeyId: "AKBENCH", secretAccessKey: randomBytes(20).toString("hex") };
  const store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
  const body = JSON.stringify({ name: "report.pdf", size: 1_048_576, type: "application/pdf" });
  const rows = [];
  try {
    const bare = await bareSigner(credentials, store.endpoint);
    const baseline = await load({ url: bare.url, body, headers: { "content-type": "application/json" } });
    bare.close();
    rows.push({
      name: "bare signer (Hono)",
      value: baseline.perSecond,
      extra: { p99: `${baseline.p99.toFixed(1)} ms`, errors: String(baseline.errors) },
    });

    const databases: Array<[string, string | undefined]> = [["broker, SQLite", undefined]];
    const pgUrl = process.env.SLUICE_TEST_POSTGRES_URL;
    if (pgUrl) {
      const name = `sluice_bench_${randomBytes(4).toString("hex")}`;
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`);
      await client.end();
      const url = new URL(pgUrl);
      url.pathname = `/${name}`;
      databases.push(["broker, PostgreSQL", url.toString()]);
    } else console.log("(PostgreSQL row skipped: SLUICE_TEST_POSTGRES_URL unset)");

    for (const [label, databaseUrl] of databases) {
      const config = parseConfig({
        dataDir: join(dir, label.replace(/\W+/g, "-")),
        server: { port: 0 },
        storage: { endpoint: store.endpoint, ...credentials },
        database: { url: databaseUrl },
        auth: { jwt: { secret: SECRET } },
      });
      const broker = await startBroker(config, { logger: pino({ level: "silent" }), sweeper: false });
      const token = await signToken({ secret: SECRET, tenant: "bench", user: "u", jwt: config.auth.jwt });
      const result = await load({
        url: `${broker.url}/v1/uploads`,
        body,
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      });
      await broker.close();
      rows.push({
        name: label,
        value: result.perSecond,
        extra: { p99: `${result.p99.toFixed(1)} ms`, errors: String(result.errors) },
      });
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  printTable({
    title: `POST /v1/uploads, ${CONCURRENCY} concurrent clients, ${DURATION_MS / 1000} s each`,
    unit: "grants/s",
    baseline: "bare signer (Hono)",
    rows,
  });
}
