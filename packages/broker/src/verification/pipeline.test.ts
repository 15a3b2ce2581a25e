import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { grant, type Harness, putBytes, startHarness } from "../test/harness.ts";

interface FileJson {
  state: string;
  checks: Array<{ step: string; status: string; ms: number | null; detail: string | null; attempts: number }>;
}

async function complete(h: Harness, name: string): Promise<string> {
  const data = Buffer.from(`${name}\n`);
  const g = await grant(h, { name, size: data.length, type: "text/plain" });
  assert.equal((await putBytes(g.put, data)).status, 200);
  // The completion waits a little for verification; these scans are held, so it answers `uploaded`.
  await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
  return g.upload.id;
}

async function fileOf(h: Harness, id: string): Promise<FileJson> {
  return (await (await h.api(`/v1/files/${id}`)).json()) as FileJson;
}

describe("pipeline worker pool", () => {
  let h: Harness;
  let running = 0;
  let most = 0;
  let release: () => void = () => {};
  let held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let failures = 0;
  before(async () => {
    h = await startHarness({
      config: { jobs: { concurrency: 3, attempts: 3, retryDelay: 0.05, maxRetryDelay: 0.1 } },
      broker: {
        scanners: [
          async (file) => {
            if (file.name.startsWith("flaky") && failures++ < 1) throw new Error("scanner backend busy");
            if (!file.name.startsWith("held")) return undefined;
            running++;
            most = Math.max(most, running);
            await held;
            running--;
            return undefined;
          },
        ],
      },
    });
  });
  after(() => h?.close());

  it("runs at most jobs.concurrency steps at once, and a waiting file shows which step it is at", async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => complete(h, `held-${i}.txt`)));
    const deadline = Date.now() + 10_000;
    while (running < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(most, 3, "three scans in flight, never more");
    const files = await Promise.all(ids.map((id) => fileOf(h, id)));
    assert.deepEqual(
      files.map((f) => f.checks.map((c) => c.step)),
      Array(6).fill(["size", "sniff", "scan", "promote"]),
      "promotion out of quarantine comes last",
    );
    const scans = files.map((f) => f.checks.find((c) => c.step === "scan")!);
    assert.deepEqual(scans.map((c) => c.status).sort(), [
      "queued",
      "queued",
      "queued",
      "running",
      "running",
      "running",
    ]);
    release();
    for (const id of ids) {
      while ((await fileOf(h, id)).state === "uploaded" && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(
      await Promise.all(ids.map(async (id) => (await fileOf(h, id)).state)),
      Array(6).fill("ready"),
    );
    assert.equal(most, 3);
    held = Promise.resolve();
  });

  it("a step that throws is retried with backoff; the check counts the attempts and every step has its timing", async () => {
    const id = await complete(h, "flaky.txt");
    const deadline = Date.now() + 10_000;
    let file = await fileOf(h, id);
    while (file.state === "uploaded" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      file = await fileOf(h, id);
    }
    assert.equal(file.state, "ready");
    const scan = file.checks.find((c) => c.step === "scan")!;
    assert.deepEqual([scan.status, scan.attempts], ["passed", 2]);
    assert.equal(typeof scan.ms, "number");
    for (const check of file.checks.filter((c) => c.step !== "size")) assert.equal(typeof check.ms, "number");
  });
});
