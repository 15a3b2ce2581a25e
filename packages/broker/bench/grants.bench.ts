// CPU per request and throughput at 50 concurrent clients (autocannon, in this
// process) of each contender in its own process (bench/serve.ts):
// POST /v1/uploads on the broker (JWT + validation + DB row + audit row + presign,
// default logging) on SQLite and, when the tier is up, PostgreSQL; the broker's
// POST /v1/uploads/:id/parts; against, in the same run, Hono with the bare
// signer and the same grant written plainly (Hono, better-sqlite3 prepared,
// one transaction). Contenders are interleaved over SLUICE_BENCH_ROUNDS rounds
// (default 2) and each keeps its best round (least CPU per request).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { printTable } from "@sluice/core/bench";
import { startStore } from "@sluice/store";
import pg from "pg";
import { signToken } from "../src/auth/jwt.ts";
import { parseConfig } from "../src/config/load.ts";
import { CONCURRENCY, DURATION_S, type LoadRequest, type LoadResult, load, startContender } from "./load.ts";
import type { ServeOptions } from "./serve.ts";

const ROUNDS = Number(process.env.SLUICE_BENCH_ROUNDS ?? 2);
const SECRET = "bench-secret-bench-secret-bench-secret-0123";

/** A fresh PostgreSQL database on the shared tier, or undefined when the tier is not configured. */
export async function benchPostgres(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const base = process.env.SLUICE_TEST_POSTGRES_URL;
  if (!base) return undefined;
  const name = `sluice_bench_${randomBytes(4).toString("hex")}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    await client.query(sql);
    await client.end();
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export async function benchToken(): Promise<string> {
  const jwt = parseConfig({ auth: { jwt: { secret: SECRET } } }).auth.jwt;
  return signToken({ secret: SECRET, tenant: "bench", user: "u", jwt });
}

export const GRANT_BODY = JSON.stringify({ name: "report.pdf", size: 1_048_576, type: "application/pdf" });

interface Candidate {
  name: string;
  serve: Omit<ServeOptions, "dataDir" | "storage" | "jwtSecret">;
  /** The request to load, made once the contender listens (e.g. after creating a multipart upload). */
  request(url: string): Promise<LoadRequest>;
}

export default async function grantsBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-"));
  const credentials = { accessKeyId: "AKBENCH", secretAccessKey: randomBytes(20).toString("hex") };
  const store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
  const token = await benchToken();
  const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
  const grant = async (url: string) => ({ url: `${url}/v1/uploads`, body: GRANT_BODY, headers });
  const postgres = await benchPostgres();
  if (!postgres) console.log("(PostgreSQL row skipped: SLUICE_TEST_POSTGRES_URL unset)");
  const candidates: Candidate[] = [
    { name: "bare signer (Hono)", serve: { mode: "bare" }, request: grant },
    { name: "plain grant (Hono, better-sqlite3)", serve: { mode: "plain" }, request: grant },
    { name: "broker grant, SQLite", serve: { mode: "broker" }, request: grant },
    ...(postgres
      ? [
          {
            name: "broker grant, PostgreSQL",
            serve: { mode: "broker" as const, databaseUrl: postgres.url },
            request: grant,
          },
        ]
      : []),
    {
      name: "broker parts, SQLite",
      serve: { mode: "broker" },
      async request(url) {
        const big = JSON.stringify({ name: "big.iso", size: 1024 ** 3, type: "application/octet-stream" });
        const res = await fetch(`${url}/v1/uploads`, { method: "POST", body: big, headers });
        const { upload } = (await res.json()) as { upload: { id: string } };
        const body = JSON.stringify({ partNumbers: [1] });
        return { url: `${url}/v1/uploads/${upload.id}/parts`, body, headers };
      },
    },
  ];
  const best = new Map<string, LoadResult>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, candidate] of candidates.entries()) {
        const contender = await startContender({
          ...candidate.serve,
          dataDir: join(dir, `c${round}-${i}`),
          storage: { endpoint: store.endpoint, ...credentials },
          jwtSecret: SECRET,
        });
        try {
          const result = await load([contender.child.pid!], await candidate.request(contender.url));
          const previous = best.get(candidate.name);
          if (!previous || result.cpuMicros < previous.cpuMicros) best.set(candidate.name, result);
        } finally {
          await contender.stop();
        }
      }
    }
  } finally {
    await store.close();
    await postgres?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
  const plainCpu = best.get("plain grant (Hono, better-sqlite3)")!.cpuMicros;
  printTable({
    title: `Grants: ${CONCURRENCY} connections (autocannon), ${DURATION_S} s, best of ${ROUNDS} interleaved rounds; CPU of the server process from /proc`,
    unit: "CPU µs/request",
    lowerIsBetter: true,
    baseline: "bare signer (Hono)",
    rows: candidates.map(({ name }) => {
      const r = best.get(name)!;
      return {
        name,
        value: r.cpuMicros,
        extra: {
          "vs plain grant": `${(plainCpu / r.cpuMicros).toFixed(2)}x`,
          "req/s": Math.round(r.perSecond).toLocaleString("en-US"),
          p99: `${r.p99} ms`,
          errors: String(r.errors),
        },
      };
    }),
  });
}
