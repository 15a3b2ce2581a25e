import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Kysely } from "kysely";
import pino from "pino";
import { claimJob, enqueueJob, getJob, jobQueue } from "../db/jobs.ts";
import { openDatabase } from "../db/open.ts";
import type { Database, JobRow } from "../db/schema.ts";
import { grant, type Harness, putBytes, startHarness } from "../test/harness.ts";
import { createWorker, defaultWorkerId, type Worker } from "./worker.ts";

async function state(h: Harness, id: string): Promise<string> {
  return ((await (await h.api(`/v1/uploads/${id}`)).json()) as { state: string }).state;
}

describe("verification jobs are durable", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ broker: { worker: false } });
  });
  after(() => h?.close());

  it("a job queued before a restart is processed after it", async () => {
    const g = await grant(h, { name: "notes.txt", size: 6, type: "text/plain" });
    assert.equal((await putBytes(g.put, Buffer.from("notes\n"))).status, 200);
    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(
      ((await done.json()) as { state: string }).state,
      "uploaded",
      "no worker yet: waiting for verification",
    );
    assert.equal((await h.api(`/v1/files/${g.upload.id}/download`)).status, 409, "only ready files download");

    await h.restart({ worker: true });
    const deadline = Date.now() + 10_000;
    while ((await state(h, g.upload.id)) === "uploaded" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(await state(h, g.upload.id), "ready");
  });

  it("a restarting broker takes back at once the leases it held when it died", async (t) => {
    await h.restart({ worker: false });
    const g = await grant(h, { name: "crash.txt", size: 6, type: "text/plain" });
    assert.equal((await putBytes(g.put, Buffer.from("crash\n"))).status, 200);
    await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    // The state a kill -9 leaves: the job leased for a minute by this broker's worker id.
    const workerId = defaultWorkerId(h.config.dataDir);
    const leased = await claimJob(h.context().db, { now: Date.now(), leaseMs: 60_000, workerId });
    assert.equal(leased?.upload_id, g.upload.id);

    const started = performance.now();
    await h.restart({ worker: true });
    const deadline = Date.now() + 10_000;
    while ((await state(h, g.upload.id)) === "uploaded" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - started) / 1000;
    assert.equal(await state(h, g.upload.id), "ready", "done long before the 60 s lease ran out");
    t.diagnostic(`recovery: ready ${seconds.toFixed(2)} s after the restart (lease 60 s)`);
  });
});

/** A worker polling every 10 ms on a fresh SQLite database, stopped and removed after `body`. */
async function withWorker(
  options: { workerId: string; leaseMs?: number; handle: (job: JobRow) => Promise<void> },
  body: (db: Kysely<Database>, worker: Worker) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-jobs-"));
  const { db, close } = await openDatabase(`sqlite:${join(dir, "jobs.db")}`);
  const { workerId, ...rest } = options;
  const worker = createWorker({
    queue: jobQueue(db, {
      maxAttempts: 5,
      backoff: { retryDelayMs: 1000, maxRetryDelayMs: 60_000 },
      workerId,
    }),
    log: pino({ level: "silent" }),
    pollMs: 10,
    ...rest,
  });
  try {
    await body(db, worker);
  } finally {
    await worker.stop();
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("job leases", () => {
  it("a long job keeps its lease, so a second worker does not take it", async () => {
    const runs: string[] = [];
    const handle = async (job: JobRow) => {
      runs.push(job.id);
      await new Promise((r) => setTimeout(r, 400));
    };
    await withWorker({ workerId: "first", leaseMs: 90, handle }, async (db, worker) => {
      const id = await enqueueJob(db, { kind: "verify", uploadId: "u" });
      worker.start();
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(
        await claimJob(db, { now: Date.now(), leaseMs: 90, workerId: "second" }),
        undefined,
        "still leased after 2.7 leases",
      );
      await worker.idle(2000);
      assert.deepEqual(runs, [id]);
      assert.equal((await getJob(db, id))?.state, "done");
    });
  });

  it("a worker reclaims only leases under its own id; another broker's wait for their lease", async () => {
    const runs: string[] = [];
    const handle = async (job: JobRow) => {
      runs.push(job.upload_id);
    };
    await withWorker({ workerId: "broker-a", handle }, async (db, worker) => {
      for (const uploadId of ["mine", "theirs"]) {
        await enqueueJob(db, { kind: "verify", uploadId });
        const workerId = uploadId === "mine" ? "broker-a" : "broker-b";
        await claimJob(db, { now: Date.now(), leaseMs: 60_000, workerId });
      }
      worker.start();
      await worker.idle(2000);
      assert.deepEqual(runs, ["mine"]);
    });
  });
});
