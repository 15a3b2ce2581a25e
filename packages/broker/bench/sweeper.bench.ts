// How fast the sweeper drains a backlog of expired grants (SLUICE_BENCH_EXPIRED,
// default 100k, rows generated through the DB layer, a few with objects), on
// SQLite against the embedded store; baseline in the same run: the grant-at-a-time
// way (conditional UPDATE, DELETE, audit insert per grant) on a 2,000-row sample.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { cpuSecondsFromProc, printTable } from "@sluice/core/bench";
import { startStore } from "@sluice/store";
import type { Kysely } from "kysely";
import pino from "pino";
import { createBroker } from "../src/app.ts";
import { parseConfig } from "../src/config/load.ts";
import type { BrokerContext } from "../src/context.ts";
import { auditUpload } from "../src/db/audit.ts";
import type { Database, NewUpload } from "../src/db/schema.ts";
import { transitionUpload } from "../src/db/uploads.ts";
import { uploadRow } from "../src/test/databases.ts";
import { deleteObject } from "../src/uploads/complete.ts";
import { enqueueEvent } from "../src/uploads/outbox.ts";
import { sweep } from "../src/uploads/sweeper.ts";

const EXPIRED = Number(process.env.SLUICE_BENCH_EXPIRED ?? 100_000);
const SAMPLE = 2_000;

/** `count` grant rows for one owner (the test fixture's shape), inserted 400 a statement. */
export async function insertUploads(
  db: Kysely<Database>,
  count: number,
  row: (i: number) => Partial<NewUpload>,
): Promise<void> {
  const now = Date.now();
  for (let start = 0; start < count; start += 400) {
    const values: NewUpload[] = [];
    for (let i = start; i < Math.min(count, start + 400); i++)
      values.push(uploadRow({ tenant: "bench", user_id: "u", created_at: now - count + i, ...row(i) }));
    await db.insertInto("uploads").values(values).execute();
  }
}

/** The sweeper before batching: one grant at a time. */
async function oneAtATime(ctx: BrokerContext, now: number): Promise<number> {
  const rows = await ctx.db
    .selectFrom("uploads")
    .selectAll()
    .where("state", "=", "pending")
    .where("expires_at", "<", now)
    .limit(SAMPLE)
    .execute();
  for (const row of rows) {
    if (!(await transitionUpload(ctx.db, { id: row.id, from: ["pending"], to: "expired", now }))) continue;
    await deleteObject(ctx, row.incoming_key);
    await auditUpload(ctx.db, row, { action: "upload.expire" });
    await enqueueEvent(ctx.db, ctx, { type: "upload.expired", row });
  }
  return rows.length;
}

export default async function sweeperBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-"));
  const credentials = { accessKeyId: "AKBENCH", secretAccessKey: randomBytes(20).toString("hex") };
  const store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
  const broker = await createBroker(
    parseConfig({
      dataDir: join(dir, "broker"),
      storage: { endpoint: store.endpoint, ...credentials },
      auth: { jwt: { secret: randomBytes(32).toString("hex") } },
      webhooks: {
        endpoints: {
          app: {
            url: "http://127.0.0.1:9/hooks",
            secrets: [`whsec_${randomBytes(24).toString("base64")}`],
            events: ["upload.expired"],
          },
        },
      },
    }),
    { logger: pino({ level: "silent" }), sweeper: false, worker: false, webhooks: false },
  );
  const ctx = broker.context;
  try {
    const expired = Date.now() - 1000;
    await insertUploads(ctx.db, SAMPLE + EXPIRED, () => ({ expires_at: expired }));
    // What some of the grants wrote, in quarantine (where every grant writes).
    const written = await ctx.db.selectFrom("uploads").select("incoming_key").limit(100).execute();
    for (const { incoming_key } of written) {
      await ctx.s3.send(new PutObjectCommand({ Bucket: ctx.target.bucket, Key: incoming_key, Body: "x" }));
    }
    const measure = async (run: () => Promise<number>) => {
      const cpu = await cpuSecondsFromProc("self");
      const started = performance.now();
      const count = await run();
      const seconds = (performance.now() - started) / 1000;
      return { count, seconds, cpu: (await cpuSecondsFromProc("self")) - cpu };
    };
    const before = await measure(() => oneAtATime(ctx, Date.now()));
    const after = await measure(async () => (await sweep(ctx)).expired);
    const row = (r: { count: number; seconds: number; cpu: number }) => ({
      value: (r.count / r.seconds) * 60,
      extra: {
        grants: r.count.toLocaleString("en-US"),
        seconds: r.seconds.toFixed(1),
        "CPU µs/grant (broker + store)": ((r.cpu * 1e6) / r.count).toFixed(0),
      },
    });
    printTable({
      title: `Sweeper: a backlog of ${EXPIRED.toLocaleString("en-US")} expired grants on SQLite and the embedded store, one sweep`,
      unit: "grants expired/minute",
      baseline: "one grant at a time (before)",
      rows: [
        { name: "one grant at a time (before)", ...row(before) },
        { name: "batched sweep", ...row(after) },
      ],
    });
  } finally {
    await broker.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
