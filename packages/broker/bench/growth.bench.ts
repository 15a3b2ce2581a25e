// Grants as the database grows (issue 14): grant p99 and CPU at 50 concurrent
// clients (autocannon) against POST /v1/uploads on SQLite holding 0, 100k and
// 1M uploads (SLUICE_BENCH_GROWTH, e.g. "0,20000" for a quick run), and the
// database file's size. The rows are written straight through the DB layer
// (the migrated schema with all its indexes; one transaction, prepared
// inserts): each a file of one of 1,000 users with its grant's audit row,
// spread over the last 30 days. Baseline: the empty database, in the same run.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { printTable } from "@sluice/core/bench";
import { startStore } from "@sluice/store";
import Database from "better-sqlite3";
import type { Insertable } from "kysely";
import { defaultDatabaseUrl, openDatabase } from "../src/db/open.ts";
import type { AuditLogTable, NewUpload } from "../src/db/schema.ts";
import { uploadRow } from "../src/test/databases.ts";
import { BENCH_SECRET, benchToken, GRANT_BODY } from "./grants.bench.ts";
import { CONCURRENCY, DURATION_S, load, startContender } from "./load.ts";

const SIZES = (process.env.SLUICE_BENCH_GROWTH ?? "0,100000,1000000").split(",").map(Number);
const USERS = 1_000;
const MONTH_MS = 30 * 24 * 3600 * 1000;

/** `count` uploads and their audit rows in the database of `dataDir`; returns the seconds it took. */
async function fill(dataDir: string, count: number): Promise<number> {
  const url = defaultDatabaseUrl(dataDir);
  const metadata = await openDatabase(url); // creates and migrates the schema
  const sample = uploadRow();
  const auditSample: Insertable<AuditLogTable> = {
    id: randomUUID(),
    at: 0,
    tenant: "bench",
    user_id: "u",
    action: "upload.grant",
    subject: sample.id,
    ip: "127.0.0.1",
    detail: JSON.stringify({ method: "put", size: 1, type: "application/pdf", profile: "default" }),
  };
  const uploadSql = metadata.db.insertInto("uploads").values(sample).compile().sql;
  const auditSql = metadata.db.insertInto("audit_log").values(auditSample).compile().sql;
  await metadata.close();
  if (count === 0) return 0;
  const started = performance.now();
  const sqlite = new Database(url.slice("sqlite:".length));
  const insertUpload = sqlite.prepare(uploadSql);
  const insertAudit = sqlite.prepare(auditSql);
  const now = Date.now();
  sqlite.transaction(() => {
    for (let i = 0; i < count; i++) {
      const user = i % USERS === 0 ? "u" : `user${i % USERS}`;
      const created = now - MONTH_MS + Math.floor((i / count) * MONTH_MS);
      const row: NewUpload = uploadRow({
        tenant: "bench",
        user_id: user,
        name: `report-${i}.pdf`,
        type: "application/pdf",
        size: 1024 + (i % 10_000) * 1024,
        state: i % 20 === 0 ? "expired" : "ready",
        etag: i % 20 === 0 ? null : `"${randomBytes(16).toString("hex")}"`,
        created_at: created,
        updated_at: created + 2_000,
        expires_at: created + 900_000,
        completed_at: i % 20 === 0 ? null : created + 2_000,
      });
      insertUpload.run(Object.values(row));
      insertAudit.run(
        Object.values({ ...auditSample, id: randomUUID(), at: created, user_id: user, subject: row.id }),
      );
    }
  })();
  sqlite.close(); // checkpoints the WAL into the file
  return (performance.now() - started) / 1000;
}

export default async function growthBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-"));
  const credentials = { accessKeyId: "AKBENCH", secretAccessKey: randomBytes(20).toString("hex") };
  const store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
  const headers = { "content-type": "application/json", authorization: `Bearer ${await benchToken()}` };
  const rows = [];
  try {
    for (const size of SIZES) {
      const dataDir = join(dir, `rows-${size}`);
      const fillSeconds = await fill(dataDir, size);
      const bytes = statSync(join(dataDir, "sluice.db")).size;
      const contender = await startContender({
        mode: "broker",
        dataDir,
        storage: { endpoint: store.endpoint, ...credentials },
        jwtSecret: BENCH_SECRET,
      });
      try {
        const result = await load([contender.child.pid!], {
          url: `${contender.url}/v1/uploads`,
          body: GRANT_BODY,
          headers,
        });
        rows.push({
          name: `${size.toLocaleString("en-US")} uploads`,
          value: result.p99,
          extra: {
            "CPU µs/grant": String(Math.round(result.cpuMicros)),
            "req/s": Math.round(result.perSecond).toLocaleString("en-US"),
            "DB size": `${(bytes / 1024 ** 2).toFixed(1)} MiB`,
            "bytes/upload": size ? String(Math.round(bytes / size)) : "",
            "filled in": `${fillSeconds.toFixed(1)} s`,
            errors: String(result.errors),
          },
        });
      } finally {
        await contender.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  printTable({
    title: `Growth: grants on SQLite holding ${SIZES.map((s) => s.toLocaleString("en-US")).join(" / ")} uploads (+ their audit rows), ${CONCURRENCY} connections (autocannon), ${DURATION_S} s; goal p99 ≤ 20 ms`,
    unit: "grant p99 ms",
    lowerIsBetter: true,
    baseline: rows[0]!.name,
    rows,
  });
}
