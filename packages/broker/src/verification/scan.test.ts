import assert from "node:assert/strict";
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { after, before, describe, it } from "node:test";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import {
  type ClamdServer,
  clamdTier,
  EICAR,
  eicarSignature,
  eicarZip,
  startClamd,
  zipTier,
} from "@sluice/core/testing";
import { listAudit } from "../db/audit.ts";
import { createS3Client } from "../storage/s3.ts";
import { storageTarget } from "../storage/target.ts";
import { grant, type Harness, incomingKey, putBytes, startHarness } from "../test/harness.ts";

const clamd = clamdTier();
const zip = zipTier();
const MiB = 1024 * 1024;

interface Check {
  step: string;
  status: string;
  ms: number | null;
  detail: string | null;
  attempts: number;
}
interface FileJson {
  id: string;
  state: string;
  reason: string | null;
  key: string;
  size: number;
  checks: Check[];
}

async function fileOf(h: Harness, id: string): Promise<FileJson> {
  return (await (await h.api(`/v1/files/${id}`)).json()) as FileJson;
}

/** Polls the file until `done` holds (20 s at most). */
async function until(h: Harness, id: string, done: (file: FileJson) => boolean): Promise<FileJson> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const file = await fileOf(h, id);
    if (done(file) || Date.now() > deadline) return file;
    await new Promise((r) => setTimeout(r, 50));
  }
}
const settled = (file: FileJson) => file.state !== "uploaded";

async function upload(h: Harness, file: { name: string; type: string; data: Buffer; profile?: string }) {
  const g = await grant(h, {
    name: file.name,
    size: file.data.length,
    type: file.type,
    ...(file.profile ? { profile: file.profile } : {}),
  });
  assert.equal((await putBytes(g.put, file.data)).status, 200);
  await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
  return g.upload.id;
}

async function objectExists(h: Harness, key: string): Promise<boolean> {
  const s3 = createS3Client(storageTarget(h.config));
  try {
    await s3.send(new HeadObjectCommand({ Bucket: h.config.storage.bucket, Key: key }));
    return true;
  } catch {
    return false;
  } finally {
    s3.destroy();
  }
}

/** Whether storage holds the file's quarantined object or its promoted copy. */
async function anyStored(h: Harness, file: FileJson): Promise<boolean> {
  return (await objectExists(h, incomingKey(file.key))) || (await objectExists(h, file.key));
}

const statuses = (file: FileJson) => file.checks.map((c) => `${c.step}:${c.status}`);

describe("malware scanning with a real clamd", { skip: clamd.available ? false : clamd.reason }, () => {
  let server: ClamdServer;
  let dir: string;
  let h: Harness;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sluice-scan-test-"));
    server = await startClamd({
      binary: (clamd as { value: string }).value,
      streamMaxLength: "200M",
      signatures: { "eicar.ndb": eicarSignature() },
    });
    h = await startHarness({
      config: {
        scanning: { clamd: { host: server.host, port: server.port }, timeout: 20, maxSize: "150MB" },
        // A long retry budget at a short pace: clamd is stopped and started again meanwhile.
        jobs: { concurrency: 4, attempts: 100, retryDelay: 0.05, maxRetryDelay: 0.3 },
        profiles: { default: { maxSize: "200MB", method: "put", scan: true } },
      },
    });
  });
  after(async () => {
    await h?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a clean file is ready, its checks show size, sniff and scan passed with timings", async () => {
    const id = await upload(h, {
      name: "notes.txt",
      type: "text/plain",
      data: Buffer.from("nothing to see\n"),
    });
    const file = await until(h, id, settled);
    assert.equal(file.state, "ready");
    assert.deepEqual(statuses(file), ["size:passed", "sniff:passed", "scan:passed", "promote:passed"]);
    const scan = file.checks.find((c) => c.step === "scan")!;
    assert.match(scan.detail!, /^clean/);
    assert.equal(typeof scan.ms, "number");
    assert.equal(scan.attempts, 1);
  });

  it("EICAR is rejected with the signature name, its object deleted and the rejection audited", async () => {
    const id = await upload(h, { name: "eicar.txt", type: "text/plain", data: Buffer.from(EICAR) });
    const file = await until(h, id, settled);
    assert.equal(file.state, "rejected");
    assert.equal(file.reason, "malware found: Sluice.Test.EICAR.UNOFFICIAL");
    assert.deepEqual(statuses(file), ["size:passed", "sniff:passed", "scan:failed", "promote:cancelled"]);
    assert.equal(await anyStored(h, file), false, "the infected object is deleted, never promoted");
    const audit = await listAudit(h.context().db, { subject: id, action: "upload.reject" });
    assert.deepEqual(JSON.parse(audit[0]!.detail!), {
      reason: "malware found: Sluice.Test.EICAR.UNOFFICIAL",
    });
    assert.equal((await h.api(`/v1/files/${id}/download`)).status, 409, "never downloadable");
  });

  it("EICAR inside a zip archive is rejected", { skip: zip.available ? false : zip.reason }, async () => {
    const id = await upload(h, {
      name: "bundle.zip",
      type: "application/zip",
      data: eicarZip(dir),
    });
    const file = await until(h, id, settled);
    assert.equal(file.state, "rejected");
    assert.equal(file.reason, "malware found: Sluice.Test.EICAR.UNOFFICIAL");
  });

  it("with clamd stopped the file stays uploaded (scan retrying), and is scanned once clamd is back", async () => {
    await server.stop();
    let id: string;
    try {
      id = await upload(h, { name: "later.txt", type: "text/plain", data: Buffer.from("scan me later\n") });
      const waiting = await until(
        h,
        id,
        (f) => (f.checks.find((c) => c.step === "scan")?.attempts ?? 0) >= 2,
      );
      assert.equal(waiting.state, "uploaded", "never ready unscanned");
      const scan = waiting.checks.find((c) => c.step === "scan")!;
      assert.ok(["retrying", "running"].includes(scan.status), scan.status);
      assert.equal((await h.api(`/v1/files/${id}/download`)).status, 409);
    } finally {
      await server.start();
    }
    const file = await until(h, id, settled);
    assert.equal(file.state, "ready");
    const scan = file.checks.find((c) => c.step === "scan")!;
    assert.equal(scan.status, "passed");
    assert.ok(scan.attempts >= 2, `passed on attempt ${scan.attempts}`);
  });

  it("a 100 MiB file is streamed from storage to clamd without being held in memory", async () => {
    const path = join(dir, "big.bin");
    const handle = await open(path, "w");
    const block = Buffer.alloc(MiB);
    for (let i = 0; i < 100; i++) {
      block.fill(i % 251);
      await handle.write(block);
    }
    await handle.close();
    const size = 100 * MiB;
    const g = await grant(h, { name: "big.bin", size, type: "application/octet-stream" });
    // Stream the PUT from disk too, so the test process never holds the file either.
    const url = new URL(g.put.url);
    await new Promise<void>((resolve, reject) => {
      const req = request(
        url,
        { method: "PUT", headers: { ...g.put.headers, "content-length": String(size) } },
        (res) => {
          res.resume();
          res.on("end", () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${res.statusCode}`)),
          );
        },
      );
      req.on("error", reject);
      pipeline(createReadStream(path), req).catch(reject);
    });

    globalThis.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    const started = performance.now();
    try {
      await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
      const file = await until(h, g.upload.id, settled);
      assert.equal(file.state, "ready", JSON.stringify(file.checks));
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    const growth = (peak - baseline) / MiB;
    console.log(
      `# 100 MiB scan: RSS ${(baseline / MiB).toFixed(0)} → peak ${(peak / MiB).toFixed(0)} MiB (+${growth.toFixed(1)}), ${(100 / seconds).toFixed(1)} MiB/s end to end`,
    );
    // Buffering the object anywhere on the way (store → SDK → clamd socket) would add 100 MiB or more.
    assert.ok(growth < 60, `RSS grew by ${growth.toFixed(1)} MiB while scanning 100 MiB`);
  });
});

describe("scan limits and an unreachable clamd", () => {
  let h: Harness;
  before(async () => {
    // Nothing listens on port 9 of 127.0.0.1 (discard, not served here): every scan attempt fails fast.
    h = await startHarness({
      config: {
        scanning: { clamd: { host: "127.0.0.1", port: 9 }, timeout: 2, maxSize: "4KB", oversize: "skip" },
        jobs: { attempts: 3, retryDelay: 0.05, maxRetryDelay: 0.1 },
        profiles: {
          strict: { scan: true },
          lenient: { scan: true, scanFailOpen: true },
        },
      },
    });
  });
  after(() => h?.close());

  it("after the retry budget the file is rejected as 'scan unavailable', and its object removed", async () => {
    const id = await upload(h, {
      name: "a.txt",
      type: "text/plain",
      data: Buffer.from("hello\n"),
      profile: "strict",
    });
    const file = await until(h, id, settled);
    assert.equal(file.state, "rejected");
    assert.equal(file.reason, "scan unavailable");
    const scan = file.checks.find((c) => c.step === "scan")!;
    assert.deepEqual([scan.status, scan.attempts], ["failed", 3]);
    assert.match(scan.detail!, /ClamdUnavailable|ECONNREFUSED/);
    assert.equal(await anyStored(h, file), false);
  });

  it("with scanFailOpen the file becomes ready unscanned, and that is audited", async () => {
    const id = await upload(h, {
      name: "b.txt",
      type: "text/plain",
      data: Buffer.from("hello\n"),
      profile: "lenient",
    });
    const file = await until(h, id, settled);
    assert.equal(file.state, "ready");
    const scan = file.checks.find((c) => c.step === "scan")!;
    assert.equal(scan.status, "skipped");
    assert.match(scan.detail!, /not scanned: scan unavailable/);
    const audit = await listAudit(h.context().db, { subject: id, action: "scan.skip" });
    assert.equal(audit.length, 1);
  });

  it("a file over scanning.maxSize is let through unscanned with oversize: skip (audited, clamd not asked)", async () => {
    const id = await upload(h, {
      name: "c.bin",
      type: "application/octet-stream",
      data: Buffer.alloc(5000, 1),
      profile: "strict",
    });
    const file = await until(h, id, settled);
    assert.equal(file.state, "ready", "clamd is unreachable: it was never asked");
    assert.match(
      file.checks.find((c) => c.step === "scan")!.detail!,
      /not scanned: larger than the scan limit/,
    );
    const [entry] = await listAudit(h.context().db, { subject: id, action: "scan.skip" });
    assert.equal(JSON.parse(entry!.detail!).size, 5000);
  });
});

describe("oversize: reject", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      config: {
        scanning: { clamd: { socket: "/nonexistent/clamd.sock" }, maxSize: "4KB" },
        profiles: { default: { scan: true } },
      },
    });
  });
  after(() => h?.close());

  it("a file over scanning.maxSize is rejected without asking clamd", async () => {
    const big = await upload(h, {
      name: "big.bin",
      type: "application/octet-stream",
      data: Buffer.alloc(5000, 1),
    });
    const file = await until(h, big, settled);
    assert.equal(file.state, "rejected");
    assert.equal(file.reason, "file is larger than the scan limit (4 KB)", "in the configuration's units");
  });
});
