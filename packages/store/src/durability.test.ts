import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readlink, rm, stat, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { signHeaders } from "@sluice/sigv4";
import { rawRequest, signedRequest } from "./conformance/http.ts";
import type { ConformanceTarget } from "./conformance/target.ts";
import { type RunningStore, startStore } from "./server.ts";

// Store-specific guarantees (not part of the S3 contract, so not in the
// conformance suite): what is on disk after crashes, overwrites and completes.

const credentials = { accessKeyId: "DURABLEKEY", secretAccessKey: "durable-secret" };
const BUCKET = "durable";

async function filesUnder(dir: string): Promise<Array<{ path: string; ino: number }>> {
  const out: Array<{ path: string; ino: number }> = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    out.push({ path: relative(dir, full), ino: (await stat(full)).ino });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Blob files this process still has open (the store runs in the test's process). */
async function openBlobFiles(dataDir: string): Promise<string[]> {
  const open: string[] = [];
  for (const fd of await readdir("/proc/self/fd")) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
    if (target.startsWith(join(dataDir, "blobs"))) open.push(relative(dataDir, target));
  }
  return open;
}

const blobFiles = async (dataDir: string) =>
  (await filesUnder(dataDir)).filter((f) => f.path.startsWith("blobs/"));

describe("embedded store durability", () => {
  let dataDir: string;
  let store: RunningStore;
  let s3: S3Client;

  async function open(): Promise<void> {
    store = await startStore({ dataDir, credentials: [credentials] });
    s3 = new S3Client({
      endpoint: store.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials,
      maxAttempts: 1,
    });
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "sluice-durable-"));
    await open();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    s3.destroy();
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const target = (): ConformanceTarget =>
    ({ endpoint: store.endpoint, region: "us-east-1", credentials }) as ConformanceTarget;

  test("a client hanging up mid-upload leaves no object and no file", async () => {
    const before = await blobFiles(dataDir);
    const url = `${store.endpoint}/${BUCKET}/partial.bin`;
    const headers = signHeaders({
      method: "PUT",
      url,
      payloadHash: "UNSIGNED-PAYLOAD",
      headers: { "content-length": String(4 * 1024 * 1024) },
      credentials,
      region: "us-east-1",
    });
    await new Promise<void>((resolve) => {
      const req = httpRequest(url, { method: "PUT", headers });
      req.on("error", () => resolve());
      req.write(randomBytes(1024 * 1024), () => setTimeout(() => req.destroy(), 100));
      req.on("close", () => resolve());
    });
    // The store notices the hang-up asynchronously: wait for the partial file to go (a loaded machine is slow).
    const deadline = Date.now() + 10_000;
    let left = await blobFiles(dataDir);
    while (left.length !== before.length && Date.now() < deadline) {
      await sleep(50);
      left = await blobFiles(dataDir);
    }
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "partial.bin" })));
    assert.deepEqual(left, before);
  });

  test("a GET that started before an overwrite and a delete streams the old bytes whole; then they are removed", async () => {
    const oldBody = randomBytes(8 * 1024 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "swap.bin", Body: oldBody }));
    const filesBefore = (await blobFiles(dataDir)).length;
    const url = `${store.endpoint}/${BUCKET}/swap.bin`;
    const headers = signHeaders({ method: "GET", url, credentials, region: "us-east-1" });
    const received: Buffer[] = [];
    let resume: () => void = () => {};
    const finished = new Promise<Buffer>((resolve, reject) => {
      httpRequest(url, { headers }, (res) => {
        res.once("data", (chunk: Buffer) => {
          received.push(chunk);
          res.pause();
          resume = () => {
            res.on("data", (more: Buffer) => received.push(more));
            res.resume();
          };
        });
        res.on("end", () => resolve(Buffer.concat(received)));
        res.on("error", reject);
      })
        .on("error", reject)
        .end();
    });
    while (received.length === 0) await sleep(10);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "swap.bin", Body: "new version" }));
    const fresh = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "swap.bin" }));
    assert.equal(await fresh.Body?.transformToString(), "new version");
    resume();
    const old = await finished;
    assert.equal(
      createHash("md5").update(old).digest("hex"),
      createHash("md5").update(oldBody).digest("hex"),
    );
    await sleep(50);
    assert.equal(
      (await blobFiles(dataDir)).length,
      filesBefore,
      "old blob removed after the reader finished, new one kept",
    );
  });

  test("a client hanging up mid-download leaves no open file and no kept blob", async () => {
    const before = await blobFiles(dataDir);
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "abandoned.bin", Body: randomBytes(8 * 1024 * 1024) }),
    );
    const url = `${store.endpoint}/${BUCKET}/abandoned.bin`;
    const headers = signHeaders({ method: "GET", url, credentials, region: "us-east-1" });
    await new Promise<void>((resolve) => {
      const req = httpRequest(url, { headers }, (res) => res.once("data", () => req.destroy()));
      req.on("close", () => resolve());
      req.end();
    });
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "abandoned.bin" }));
    await sleep(100);
    const open = await openBlobFiles(dataDir);
    assert.deepEqual(open, [], "no descriptor left on a blob");
    assert.deepEqual(await blobFiles(dataDir), before, "the deleted object's blob was removed");
  });

  test("completing a multipart upload moves no bytes: the object's files are the part files", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mp.bin" }));
    const parts = [];
    for (const [n, size] of [
      [1, 5 * 1024 * 1024],
      [2, 1000],
    ] as const) {
      const { ETag } = await s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: "mp.bin",
          UploadId,
          PartNumber: n,
          Body: randomBytes(size),
        }),
      );
      parts.push({ PartNumber: n, ETag });
    }
    const beforeComplete = await blobFiles(dataDir);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: "mp.bin",
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    assert.deepEqual(await blobFiles(dataDir), beforeComplete);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "mp.bin" }));
    assert.equal(head.ContentLength, 5 * 1024 * 1024 + 1000);
  });

  test("aborting an upload removes its part files", async () => {
    const before = await blobFiles(dataDir);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "gone.bin" }));
    await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: "gone.bin", UploadId, PartNumber: 1, Body: "part" }),
    );
    assert.equal((await blobFiles(dataDir)).length, before.length + 1);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: "gone.bin", UploadId }));
    await sleep(50);
    assert.deepEqual(await blobFiles(dataDir), before);
  });

  test("keys never become file names: only the catalog and random blob names are on disk", async () => {
    for (const key of ["../../escape", "/abs/path", "a//b", "日本/😀", "%2e%2e/x"]) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    }
    for (const file of await filesUnder(dataDir)) {
      assert.match(
        file.path,
        /^(catalog\.sqlite3(-wal|-shm)?|master-keys\.json|blobs\/[0-9a-f]{2}\/[0-9a-f]{32})$/,
        file.path,
      );
    }
  });

  test("a restart keeps every object and sweeps files a crash left unreferenced", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "kept.txt", Body: "still here" }));
    const stray = join(dataDir, "blobs", "ff", "f".repeat(32));
    await mkdir(join(dataDir, "blobs", "ff"), { recursive: true });
    await writeFile(stray, "half-written upload");
    s3.destroy();
    await store.close();
    await open();
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "kept.txt" }));
    assert.equal(await got.Body?.transformToString(), "still here");
    await assert.rejects(stat(stray), { code: "ENOENT" });
  });

  test("every response carries x-amz-request-id; errors are S3 XML naming the resource; unknown operations are 501", async () => {
    const missing = await signedRequest(target(), { method: "GET", path: `/${BUCKET}/no/such%20key` });
    assert.equal(missing.status, 404);
    assert.match(String(missing.headers["x-amz-request-id"]), /^[0-9A-F]{16}$/);
    const xml = missing.body.toString();
    assert.match(
      xml,
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>NoSuchKey<\/Code><Message>[^<]+<\/Message><Resource>\/durable\/no\/such%20key<\/Resource><RequestId>[0-9A-F]{16}<\/RequestId><\/Error>$/,
    );
    const torrent = await signedRequest(target(), { method: "GET", path: `/${BUCKET}/kept.txt?torrent` });
    assert.deepEqual([torrent.status, torrent.code], [501, "NotImplemented"]);
    const ok = await rawRequest({ url: `${store.endpoint}/${BUCKET}/kept.txt`, method: "HEAD" });
    assert.equal(ok.status, 403);
    assert.ok(ok.headers["x-amz-request-id"]);
  });
});
