import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { claimJob, enqueueJob, getJob, jobQueue } from "../db/jobs.ts";
import { openDatabase } from "../db/open.ts";
import { grant, type Harness, putBytes, startHarness } from "../test/harness.ts";
import { createWorker } from "./worker.ts";

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
});

describe("job leases", () => {
  it("a long job keeps its lease, so a second worker does not take it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-jobs-"));
    const { db, close } = await openDatabase(`sqlite:${join(dir, "jobs.db")}`);
    const runs: string[] = [];
    const worker = createWorker({
      queue: jobQueue(db, { maxAttempts: 5 }),
      log: pino({ level: "silent" }),
      leaseMs: 90,
      pollMs: 10,
      handle: async (job) => {
        runs.push(job.id);
        await new Promise((r) => setTimeout(r, 400));
      },
    });
    try {
      const id = await enqueueJob(db, { kind: "verify", uploadId: "u" });
      worker.start();
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(
        await claimJob(db, { now: Date.now(), leaseMs: 90 }),
        undefined,
        "still leased after 2.7 leases",
      );
      await worker.idle(2000);
      assert.deepEqual(runs, [id]);
      assert.equal((await getJob(db, id))?.state, "done");
    } finally {
      await worker.stop();
      await close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
