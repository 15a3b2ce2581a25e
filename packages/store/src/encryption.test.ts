// SSE-S3 in the embedded store, driven by the AWS SDK as any S3 client would:
// the bytes on disk are sealed, reads decrypt only the chunks they need, a
// chunk changed on disk is an error (never other bytes), and a key rotation
// re-wraps data keys without rewriting any object.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { CHUNK_SIZE } from "./storage/encryption.ts";
import { rotateMasterKey } from "./storage/rotate.ts";
import { openTestStore, type TestStore } from "./test/harness.ts";

const BUCKET = "sealed";
const MiB = 1024 * 1024;

/** Every blob file's bytes, by path. */
function blobFiles(dataDir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const root = join(dataDir, "blobs");
  for (const shard of readdirSync(root)) {
    for (const id of readdirSync(join(root, shard)))
      files.set(join(root, shard, id), readFileSync(join(root, shard, id)));
  }
  return files;
}

describe("server-side encryption (SSE-S3) in the embedded store", () => {
  let t: TestStore;
  before(async () => {
    t = await openTestStore({ buckets: [BUCKET] });
  });
  after(() => t?.close());

  const get = async (key: string, range?: string) => {
    const out = await t.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range }));
    return { out, bytes: Buffer.from(await out.Body!.transformToByteArray()) };
  };

  it("PUT with AES256: reported on PUT, HEAD and GET; the file on disk is not the plaintext", async () => {
    // A recognisable plaintext: if any of it reached the disk unsealed, it would be found.
    const data = Buffer.alloc(3 * CHUNK_SIZE + 123, "sluice-plaintext-");
    const put = await t.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "a.txt", Body: data, ServerSideEncryption: "AES256" }),
    );
    assert.equal(put.ServerSideEncryption, "AES256");
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "a.txt" }));
    assert.equal(head.ServerSideEncryption, "AES256");
    assert.equal(head.ContentLength, data.length, "the plaintext size is reported");
    const { out, bytes } = await get("a.txt");
    assert.equal(out.ServerSideEncryption, "AES256");
    assert.ok(bytes.equals(data));
    for (const [path, bytes] of blobFiles(t.dataDir)) {
      assert.ok(!bytes.includes("sluice-plaintext-"), `${path} holds no plaintext`);
    }
  });

  it("Range reads at and across chunk boundaries decrypt exactly the bytes asked for", async () => {
    const data = randomBytes(3 * CHUNK_SIZE + 77);
    await t.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "r.bin", Body: data, ServerSideEncryption: "AES256" }),
    );
    const C = CHUNK_SIZE;
    for (const [first, last] of [
      [0, 0],
      [C - 1, C],
      [C, 2 * C - 1],
      [C - 10, 2 * C + 10],
      [3 * C, 3 * C + 76],
      [5, 3 * C + 76],
    ] as const) {
      const { out, bytes } = await get("r.bin", `bytes=${first}-${last}`);
      assert.equal(out.ContentRange, `bytes ${first}-${last}/${data.length}`);
      assert.ok(bytes.equals(data.subarray(first, last + 1)), `bytes ${first}-${last}`);
    }
    const { bytes } = await get("r.bin", "bytes=-100");
    assert.ok(bytes.equals(data.subarray(data.length - 100)));
  });

  it("a chunk changed on disk fails the read that needs it; reads of other chunks still work", async () => {
    const data = randomBytes(3 * CHUNK_SIZE);
    const before = blobFiles(t.dataDir);
    await t.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "t.bin", Body: data, ServerSideEncryption: "AES256" }),
    );
    const [path, sealed] = [...blobFiles(t.dataDir)].find(([p]) => !before.has(p)) ?? [];
    assert.ok(path && sealed);
    sealed[CHUNK_SIZE + 16 + 100] = (sealed[CHUNK_SIZE + 16 + 100] ?? 0) ^ 1; // a bit of chunk 1
    writeFileSync(path, sealed);
    const first = await get("t.bin", `bytes=0-${CHUNK_SIZE - 1}`);
    assert.ok(first.bytes.equals(data.subarray(0, CHUNK_SIZE)), "chunk 0 is intact");
    await assert.rejects(get("t.bin"), "the whole object cannot be read: an error, not other bytes");
    await assert.rejects(get("t.bin", `bytes=${CHUNK_SIZE}-${CHUNK_SIZE + 10}`));
    // The store keeps serving.
    assert.equal((await get("a.txt")).out.ServerSideEncryption, "AES256");
  });

  it("multipart with AES256: every part sealed, the object reads back whole and by range", async () => {
    const create = await t.s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "m.bin", ServerSideEncryption: "AES256" }),
    );
    assert.equal(create.ServerSideEncryption, "AES256");
    const parts = [randomBytes(5 * MiB), randomBytes(MiB + 3)];
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) {
      const part = await t.s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: "m.bin",
          UploadId: create.UploadId,
          PartNumber: i + 1,
          Body: body,
        }),
      );
      assert.equal(part.ServerSideEncryption, "AES256");
      etags.push(part.ETag!);
    }
    const done = await t.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: "m.bin",
        UploadId: create.UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    assert.equal(done.ServerSideEncryption, "AES256");
    const whole = Buffer.concat(parts);
    assert.ok((await get("m.bin")).bytes.equals(whole));
    const across = `bytes=${5 * MiB - 5}-${5 * MiB + 5}`;
    assert.ok((await get("m.bin", across)).bytes.equals(whole.subarray(5 * MiB - 5, 5 * MiB + 6)));
  });

  it("a copy takes the request's encryption: a plain source copied with AES256 is sealed, and back", async () => {
    const data = Buffer.alloc(100_000, "copied-plaintext-");
    await t.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "plain.txt", Body: data }));
    const known = blobFiles(t.dataDir);
    const copy = await t.s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: "sealed-copy.txt",
        CopySource: `${BUCKET}/plain.txt`,
        ServerSideEncryption: "AES256",
      }),
    );
    assert.equal(copy.ServerSideEncryption, "AES256");
    const added = [...blobFiles(t.dataDir)].filter(([p]) => !known.has(p));
    assert.equal(added.length, 1, "the bytes were sealed into a new blob");
    assert.ok(!added[0]?.[1].includes("copied-plaintext-"));
    assert.ok((await get("sealed-copy.txt")).bytes.equals(data));
    // Copying the sealed object without encryption shares its blob and reports none.
    await t.s3.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: "again.txt", CopySource: `${BUCKET}/sealed-copy.txt` }),
    );
    const { out, bytes } = await get("again.txt");
    assert.equal(out.ServerSideEncryption, undefined);
    assert.ok(bytes.equals(data));
  });

  it("aws:kms is backed by the local master key and reports the key id", async () => {
    const put = await t.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "kms.txt",
        Body: "kms",
        ServerSideEncryption: "aws:kms",
        SSEKMSKeyId: "alias/app",
        BucketKeyEnabled: true,
      }),
    );
    assert.equal(put.ServerSideEncryption, "aws:kms");
    assert.equal(put.SSEKMSKeyId, "alias/app");
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "kms.txt" }));
    assert.equal(head.SSEKMSKeyId, "alias/app");
    assert.equal(head.BucketKeyEnabled, true);
  });

  it("aws:kms ETags are not the MD5 of the bytes, and a copy gets one of its own (as on S3)", async () => {
    const put = await t.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "kms-etag.txt",
        Body: "same",
        ServerSideEncryption: "aws:kms",
      }),
    );
    const md5 = `"${createHash("md5").update("same").digest("hex")}"`;
    assert.notEqual(put.ETag, md5);
    const copy = await t.s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: "kms-etag-copy.txt",
        CopySource: `${BUCKET}/kms-etag.txt`,
        CopySourceIfMatch: put.ETag,
        ServerSideEncryption: "aws:kms",
      }),
    );
    assert.match(copy.CopyObjectResult!.ETag!, /^"[0-9a-f]{32}"$/);
    assert.notEqual(copy.CopyObjectResult!.ETag, put.ETag);
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "kms-etag-copy.txt" }));
    assert.equal(head.ETag, copy.CopyObjectResult!.ETag, "stable once written");
    const plain = await t.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "plain-etag.txt", Body: "same" }),
    );
    assert.equal(plain.ETag, md5);
  });

  it("refuses unknown algorithms (400), a KMS key without aws:kms (400) and customer keys (501)", async () => {
    const raw = async (headers: Record<string, string>) => {
      const command = new PutObjectCommand({ Bucket: BUCKET, Key: "x", Body: "x" });
      command.middlewareStack.add(
        (next) => async (args) => {
          Object.assign((args.request as { headers: Record<string, string> }).headers, headers);
          return next(args);
        },
        { step: "build" },
      );
      const error = (await t.s3.send(command).catch((e) => e)) as {
        name: string;
        $metadata: { httpStatusCode: number };
      };
      return [error.$metadata?.httpStatusCode, error.name];
    };
    assert.deepEqual(await raw({ "x-amz-server-side-encryption": "AES128" }), [400, "InvalidArgument"]);
    assert.deepEqual(
      await raw({
        "x-amz-server-side-encryption": "AES256",
        "x-amz-server-side-encryption-aws-kms-key-id": "k",
      }),
      [400, "InvalidArgument"],
    );
    assert.deepEqual(await raw({ "x-amz-server-side-encryption-customer-algorithm": "AES256" }), [
      501,
      "NotImplemented",
    ]);
  });

  it("the master key file is private; rotation re-wraps the data keys without rewriting a byte", async () => {
    const keyFile = join(t.dataDir, "master-keys.json");
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const oldKey = (JSON.parse(readFileSync(keyFile, "utf8")) as { current: string }).current;
    const files = blobFiles(t.dataDir);
    const result = rotateMasterKey(t.dataDir);
    assert.ok(result.rewrapped >= 5, `${result.rewrapped} data keys re-wrapped`);
    assert.deepEqual(result.retired, [oldKey], "the old master key is gone from the file");
    const after = JSON.parse(readFileSync(keyFile, "utf8")) as {
      current: string;
      keys: Record<string, string>;
    };
    assert.deepEqual(Object.keys(after.keys), [result.keyId]);
    for (const [path, bytes] of blobFiles(t.dataDir))
      assert.ok(files.get(path)?.equals(bytes), `${path} unchanged`);
    // The running store picks up the new key and still reads everything, before and after a restart.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.ok((await get("m.bin")).bytes.length > 5 * MiB);
    await t.restart();
    assert.equal((await get("kms.txt")).bytes.toString(), "kms");
  });
});
