// Uploads and downloads through a proxy that drops connections mid-part,
// answers 500/503 and adds delay: they still finish with identical bytes.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createClient, createNodeTransport, downloadToFile, MemoryResumeStore } from "./node.ts";
import { type Fault, type FaultProxy, startFaultProxy } from "./test/fault-proxy.ts";
import { randomFile, type Stack, sha256File, startStack } from "./test/stack.ts";

const MiB = 1024 * 1024;
const pass: Fault = { kind: "pass" };

describe("through a faulty network", () => {
  let stack: Stack;
  let proxy: FaultProxy;
  before(async () => {
    stack = await startStack({
      profiles: { default: { maxSize: "100MB", multipartThreshold: "6MB", partSize: "5MB" } },
      publicEndpoint: async (storeEndpoint) => {
        proxy = await startFaultProxy(storeEndpoint, () => pass);
        return proxy.url;
      },
    });
  });
  after(async () => {
    await stack.close();
    await proxy.close();
  });
  const client = () =>
    createClient({
      endpoint: stack.url,
      token: stack.token,
      resumeStore: new MemoryResumeStore(),
      retry: { baseDelayMs: 20, maxDelayMs: 200 },
    });

  test("a multipart upload survives dropped connections, 500, 503 and delays", async () => {
    const file = await randomFile(stack.dir, "faulty.bin", 16 * MiB);
    const faults: Fault[] = [
      { kind: "drop", afterBytes: 1 * MiB },
      { kind: "status", status: 503 },
      { kind: "drop", afterBytes: 3 * MiB },
      { kind: "status", status: 500 },
      { kind: "delay", ms: 300 },
      { kind: "drop", afterBytes: 64 * 1024 },
    ];
    proxy.plan = (n) => faults[n - 1] ?? pass;
    const retried: string[] = [];
    const sluice = client();
    const result = await sluice.upload(file.path, {
      profile: "default",
      concurrency: 3,
      onRetry: (event) => retried.push(event.code),
    });
    proxy.plan = () => pass;
    assert.equal(result.method, "multipart");
    assert.ok(proxy.counts.drop >= 2 && proxy.counts.status >= 2, JSON.stringify(proxy.counts));
    assert.ok(retried.includes("NetworkError"), `retries: ${retried}`);
    assert.ok(retried.includes("SlowDown") || retried.includes("InternalError"), `retries: ${retried}`);
    assert.equal((await sluice.waitUntilSettled(result.id)).state, "ready");
    const out = join(stack.dir, "faulty.out");
    await downloadToFile(sluice, result.id, out);
    assert.equal(await sha256File(out), file.sha256);
  });

  test("a connection that stalls times out and the part is sent again", { timeout: 20_000 }, async () => {
    const file = await randomFile(stack.dir, "stall.bin", 11 * MiB);
    let connection = 0;
    proxy.plan = () => (++connection === 1 ? { kind: "stall" } : pass);
    const retried: string[] = [];
    const sluice = createClient({
      endpoint: stack.url,
      token: stack.token,
      resumeStore: new MemoryResumeStore(),
      retry: { baseDelayMs: 20, maxDelayMs: 200 },
      // Long enough that a busy CI machine never idles a healthy part this long; the stall idles forever.
      transport: createNodeTransport({ idleTimeoutMs: 1500 }),
    });
    const result = await sluice.upload(file.path, {
      profile: "default",
      concurrency: 2,
      onRetry: (event) => retried.push(event.code),
    });
    proxy.plan = () => pass;
    // The stalled part was retried as a network error (a very slow healthy part may add one more).
    assert.ok(retried.length >= 1 && retried.every((code) => code === "NetworkError"), retried.join());
    assert.equal((await sluice.waitUntilSettled(result.id)).state, "ready");
    sluice.close();
  });

  test("a single PUT whose answer was lost: the retry's 412 asks the broker, which completes it", async () => {
    const file = await randomFile(stack.dir, "lost-answer.bin", 2 * MiB);
    let connection = 0;
    // Storage stores the first attempt and the answer never arrives; the retry meets write-once.
    proxy.plan = () => (++connection === 1 ? { kind: "lose-answer" } : pass);
    const retried: string[] = [];
    const sluice = client();
    const result = await sluice.upload(file.path, {
      profile: "default",
      onRetry: (event) => retried.push(event.code),
    });
    proxy.plan = () => pass;
    assert.equal(result.method, "put");
    assert.equal(proxy.counts["lose-answer"], 1);
    assert.deepEqual(retried, ["NetworkError"]);
    assert.equal(result.upload.state, "ready");
    const out = join(stack.dir, "lost-answer.out");
    await downloadToFile(sluice, result.id, out);
    assert.equal(await sha256File(out), file.sha256);
    sluice.close();
  });

  test("a download cut in the middle resumes with Range and ends identical", async () => {
    const file = await randomFile(stack.dir, "cut.bin", 9 * MiB);
    const sluice = client();
    const result = await sluice.upload(file.path, { profile: "default" });
    await sluice.waitUntilSettled(result.id);
    const cuts: Fault[] = [
      { kind: "drop", afterBytes: 2 * MiB },
      { kind: "status", status: 503 },
      { kind: "drop", afterBytes: 3 * MiB },
    ];
    const before = proxy.counts.drop;
    const downBefore = proxy.bytesDown;
    let connection = 0;
    proxy.plan = () => cuts[connection++] ?? pass;
    // Fresh transport: no kept-alive socket bypasses the cuts.
    const fresh = client();
    const out = join(stack.dir, "cut.out");
    const downloaded = await downloadToFile(fresh, result.id, out);
    proxy.plan = () => pass;
    assert.equal(proxy.counts.drop - before, 2);
    assert.equal(downloaded.size, 9 * MiB);
    // Restarting from zero would move about 14 MiB; Range moves each byte once.
    assert.ok(proxy.bytesDown - downBefore < 9.5 * MiB, `${proxy.bytesDown - downBefore} bytes relayed`);
    assert.equal(await sha256File(out), file.sha256);
  });
});
