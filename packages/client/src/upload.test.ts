// The SDK against a real broker and a real embedded store over HTTP.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { SluiceError } from "@sluice/core";
import {
  createClient,
  downloadStream,
  downloadToFile,
  MemoryResumeStore,
  type Progress,
  type UploadTask,
} from "./node.ts";
import { randomFile, type Stack, sha256File, startStack } from "./test/stack.ts";

const MiB = 1024 * 1024;

describe("uploads through the SDK", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      profiles: {
        default: { maxSize: "100MB", multipartThreshold: "6MB", partSize: "5MB" },
        small: { maxSize: "1MB" },
        form: { maxSize: "10MB", method: "post" },
        quick: { multipartThreshold: "1B", partSize: "5MB", grantExpiry: "1s" },
        quickPut: { method: "put", maxSize: "100MB", grantExpiry: "1s" },
        quickPost: { method: "post", maxSize: "100MB", grantExpiry: "1s" },
      },
    });
  });
  after(() => stack.close());
  const client = () =>
    createClient({ endpoint: stack.url, token: stack.token, resumeStore: new MemoryResumeStore() });

  async function roundTrip(file: { path: string; sha256: string }, id: string): Promise<void> {
    const out = join(stack.dir, `${id}.out`);
    await downloadToFile(client(), id, out);
    assert.equal(await sha256File(out), file.sha256);
  }

  test("a small file goes as one PUT, becomes ready and downloads identical", async () => {
    const file = await randomFile(stack.dir, "small.bin", 300_000);
    const sluice = client();
    const result = await sluice.upload(file.path, { profile: "default" });
    assert.equal(result.method, "put");
    assert.equal((await sluice.waitUntilSettled(result.id)).state, "ready");
    await roundTrip(file, result.id);
  });

  test("a large file goes in parallel parts with monotonic progress up to the total", async () => {
    const file = await randomFile(stack.dir, "large.bin", 13 * MiB);
    const seen: Progress[] = [];
    const sluice = client();
    const result = await sluice.upload(file.path, {
      profile: "default",
      concurrency: 3,
      onProgress: (p) => seen.push(p),
    });
    assert.equal(result.method, "multipart");
    assert.equal(seen.at(-1)?.bytesSent, 13 * MiB);
    assert.ok(seen.every((p) => p.total === 13 * MiB && p.bytesSent <= p.total));
    assert.equal((await sluice.waitUntilSettled(result.id)).state, "ready");
    await roundTrip(file, result.id);
  });

  test("a Readable of known size is read once, in order, through multipart", async () => {
    const file = await randomFile(stack.dir, "stream.bin", 11 * MiB);
    const { createReadStream } = await import("node:fs");
    const result = await client().upload(createReadStream(file.path), {
      profile: "default",
      size: 11 * MiB,
      name: "stream.bin",
    });
    assert.equal(result.method, "multipart");
    await client().waitUntilSettled(result.id);
    await roundTrip(file, result.id);
  });

  test("a profile asking for POST gets a form upload", async () => {
    const file = await randomFile(stack.dir, "form.bin", 200_000);
    const result = await client().upload(file.path, { profile: "form" });
    assert.equal(result.method, "post");
    await client().waitUntilSettled(result.id);
    await roundTrip(file, result.id);
  });

  test("with sha256 storage checks the bytes: a wrong checksum is refused, a right one accepted", async () => {
    const file = await randomFile(stack.dir, "sum.bin", 100_000);
    const ok = await client().upload(file.path, { profile: "default", sha256: true });
    assert.equal((await client().waitUntilSettled(ok.id)).state, "ready");
    await assert.rejects(
      client().upload(file.path, { profile: "default", sha256: "0".repeat(64) }).done,
      (error: SluiceError) => error.status === 400 && /checksum|digest/i.test(error.message),
    );
  });

  test("a multipart upload with a wrong declared SHA-256 is rejected by the broker's own check", async () => {
    const file = await randomFile(stack.dir, "multi-sum.bin", 11 * MiB);
    const sluice = client();
    const ok = await sluice.upload(file.path, { profile: "default", sha256: true });
    assert.equal(ok.method, "multipart");
    assert.equal((await sluice.waitUntilSettled(ok.id)).state, "ready");
    const bad = await sluice.upload(file.path, { profile: "default", sha256: "1".repeat(64), resume: false });
    const settled = await sluice.waitUntilSettled(bad.id);
    assert.equal(settled.state, "rejected");
    assert.match(settled.reason ?? "", /SHA-256/);
  });

  test("downloadStream streams the bytes; a tampered object fails its SHA-256 check and is not written", async () => {
    const file = await randomFile(stack.dir, "checked.bin", 200_000);
    const sluice = client();
    const result = await sluice.upload(file.path, { profile: "default", sha256: true });
    await sluice.waitUntilSettled(result.id);
    const hash = createHash("sha256");
    for await (const chunk of await downloadStream(sluice, result.id)) hash.update(chunk);
    assert.equal(hash.digest("hex"), file.sha256);

    // Same size, other bytes, written with the store's own keys behind the broker's back.
    const s3 = new S3Client({
      endpoint: stack.storeEndpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: stack.storage,
    });
    const { key } = await sluice.api.getUpload(result.id);
    await s3.send(
      new PutObjectCommand({ Bucket: stack.storage.bucket, Key: key, Body: randomBytes(200_000) }),
    );
    s3.destroy();
    const out = join(stack.dir, "tampered.out");
    await assert.rejects(
      downloadToFile(sluice, result.id, out),
      (e: SluiceError) => e.code === "ChecksumMismatch",
    );
    await assert.rejects(stat(out), { code: "ENOENT" });
  });

  test("files() follows the broker's pages", async () => {
    const sluice = createClient({ endpoint: stack.url, token: stack.token, resumeStore: false });
    const all = await sluice.files();
    assert.ok(all.length >= 3, `${all.length} files`);
    const paged = await sluice.files({ pageSize: 2 });
    assert.deepEqual(
      paged.map((f) => f.id),
      all.map((f) => f.id),
    );
    assert.equal((await sluice.files({ limit: 2, pageSize: 1 })).length, 2);
  });

  test("the broker's refusals surface as SluiceError with its code (too large, unknown profile)", async () => {
    const file = await randomFile(stack.dir, "big-for-small.bin", 2 * MiB);
    await assert.rejects(
      client().upload(file.path, { profile: "small" }).done,
      (e: SluiceError) => e.status === 413,
    );
    await assert.rejects(
      client().upload(file.path, { profile: "nope" }).done,
      (e: SluiceError) => e.status >= 400,
    );
    await assert.rejects(
      client().upload(Readable.from([Buffer.alloc(10)]), { profile: "default" }).done,
      (e: SluiceError) => e.code === "SizeRequired",
    );
  });

  /** A 12 MiB stream whose second part waits for `release()`: no race with a fast loopback. */
  function gatedStream() {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stream = Readable.from(
      (async function* () {
        yield Buffer.alloc(5 * MiB, 1);
        await gate;
        yield Buffer.alloc(7 * MiB, 2);
      })(),
    );
    return { stream, release, size: 12 * MiB };
  }

  async function untilSent(task: UploadTask, bytes: number): Promise<void> {
    while (task.progress().bytesSent < bytes) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  test("abort stops the upload and tells the broker", async () => {
    const { stream, release, size } = gatedStream();
    const sluice = client();
    const task = sluice.upload(stream, { profile: "default", size, name: "abort.bin", concurrency: 1 });
    await untilSent(task, 5 * MiB);
    const aborting = task.abort();
    release();
    await aborting;
    await assert.rejects(task.done, (e: SluiceError) => e.code === "Aborted");
    assert.ok(task.id);
    assert.equal((await sluice.api.getUpload(task.id)).state, "aborted");
  });

  test("the caller's AbortSignal aborts the upload, even one aborted before it starts", async () => {
    const file = await randomFile(stack.dir, "signal.bin", 1000);
    await assert.rejects(
      client().upload(file.path, { profile: "default", signal: AbortSignal.abort() }).done,
      (e: SluiceError) => e.code === "Aborted",
    );
    const { stream, release, size } = gatedStream();
    const controller = new AbortController();
    const sluice = client();
    const task = sluice.upload(stream, {
      profile: "default",
      size,
      name: "sig.bin",
      signal: controller.signal,
    });
    await untilSent(task, 5 * MiB);
    controller.abort();
    release();
    await assert.rejects(task.done, (e: SluiceError) => e.code === "Aborted");
    assert.equal((await sluice.api.getUpload(task.id!)).state, "aborted");
  });

  test("pause cancels the parts in flight and resume sends them again", async () => {
    const { stream, release, size } = gatedStream();
    const sluice = client();
    const task = sluice.upload(stream, { profile: "default", size, name: "pause.bin", concurrency: 1 });
    await untilSent(task, 5 * MiB);
    task.pause();
    release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(task.progress().bytesSent <= 5 * MiB, "nothing more is sent while paused");
    task.resume();
    const result = await task;
    assert.equal((await sluice.waitUntilSettled(result.id)).state, "ready");
  });

  test("pause keeps the parts storage acknowledged in bytesSent; only the part in flight is lost", async () => {
    const { stream, release, size } = gatedStream();
    const sluice = client();
    const seen: number[] = [];
    const task = sluice.upload(stream, {
      profile: "default",
      size,
      name: "pause-count.bin",
      concurrency: 1,
      onProgress: (p) => seen.push(p.bytesSent),
    });
    await untilSent(task, 5 * MiB);
    // Part 1 is in storage (acknowledged) before the pause; part 2 waits for bytes.
    while ((await sluice.api.listParts(task.id!)).length < 1) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    task.pause();
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(task.progress().bytesSent, 5 * MiB, "the stored part still counts while paused");
    release();
    task.resume();
    await task;
    assert.ok(
      seen.every((bytes) => bytes >= 0) && Math.min(...seen.slice(seen.indexOf(5 * MiB))) >= 5 * MiB,
      "progress never fell below the stored part",
    );
  });

  test("part URLs that expire mid-upload are re-signed without the caller noticing", async () => {
    const { stream, release, size } = gatedStream();
    const retries: string[] = [];
    const sluice = client();
    // Profile "quick" signs part URLs for 1 s; parts 2 and 3 were signed with part 1.
    const task = sluice.upload(stream, {
      profile: "quick",
      size,
      name: "expire.bin",
      concurrency: 1,
      onRetry: (event) => retries.push(event.code),
    });
    await untilSent(task, 5 * MiB);
    await new Promise((resolve) => setTimeout(resolve, 2200));
    release();
    const result = await task;
    assert.ok(retries.includes("AccessDenied"), `expected an expired URL to be re-signed, saw [${retries}]`);
    assert.equal((await sluice.waitUntilSettled(result.id)).state, "ready");
  });

  for (const [profile, method] of [
    ["quickPut", "put"],
    ["quickPost", "post"],
  ] as const) {
    test(`an expired ${method.toUpperCase()} grant is re-issued by the broker and the upload goes on`, async () => {
      const { stream, release, size } = gatedStream();
      const retries: string[] = [];
      const sluice = client();
      const task = sluice.upload(stream, {
        profile,
        size,
        name: `${method}.bin`,
        onRetry: (event) => retries.push(event.code),
      });
      // The grant exists once the task knows its id; the stream holds the bytes back past its expiry.
      while (!task.id) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 2200));
      release();
      const result = await task;
      assert.equal(result.method, method);
      assert.ok(retries.includes("AccessDenied"), `expected a re-issued grant, saw [${retries}]`);
      assert.equal((await sluice.waitUntilSettled(result.id)).state, "ready");
    });
  }
});
