import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { openTestStore, type TestStore } from "../test/harness.ts";

// Whole-object copies reference the source's immutable blob files; these
// tests count the files on disk and read copies after their source is gone.

const MiB = 1024 * 1024;
const md5 = (data: Buffer) => createHash("md5").update(data).digest("hex");

describe("copies share blob files (reference counted)", () => {
  let t: TestStore;
  const bucket = "shared";
  const blobCount = async () =>
    (await readdir(join(t.dataDir, "blobs"), { recursive: true, withFileTypes: true })).filter((e) =>
      e.isFile(),
    ).length;
  /** Retired files are unlinked asynchronously: wait for the count to settle. */
  async function expectBlobs(count: number, why: string): Promise<void> {
    for (let i = 0; i < 100 && (await blobCount()) !== count; i++) await sleep(10);
    assert.equal(await blobCount(), count, why);
  }
  const read = async (key: string) => {
    const got = await t.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(
      await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
  };
  before(async () => {
    t = await openTestStore({ buckets: [bucket] });
  });
  after(() => t.close());

  test("CopyObject writes no bytes; deleting the source keeps the copy whole; the last reference removes the file", async () => {
    const body = randomBytes(MiB);
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "src", Body: body }));
    const files = await blobCount();
    const copy = await t.s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: "dst", CopySource: `${bucket}/src` }),
    );
    assert.equal(copy.CopyObjectResult?.ETag, `"${md5(body)}"`);
    await t.s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: "dst",
        CopySource: `${bucket}/dst`,
        MetadataDirective: "REPLACE",
        ContentType: "text/x-replaced",
      }),
    );
    await expectBlobs(files, "the copies reference the source's file");
    await t.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "src" }));
    await t.restart(); // the start-up sweep must see the shared file as referenced
    await expectBlobs(files, "the copy still references the file");
    assert.equal(md5(await read("dst")), md5(body));
    await t.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "dst" }));
    await expectBlobs(files - 1, "no reference left: the file is removed");
  });

  test("a copy of a multipart object shares its part files and gets the MD5 ETag of its content", async () => {
    const parts = [randomBytes(5 * MiB), randomBytes(1000)];
    const { UploadId } = await t.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "mpu" }));
    const etags = [];
    for (const [index, Body] of parts.entries()) {
      const { ETag } = await t.s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: "mpu", UploadId, PartNumber: index + 1, Body }),
      );
      etags.push({ PartNumber: index + 1, ETag });
    }
    await t.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: "mpu",
        UploadId,
        MultipartUpload: { Parts: etags },
      }),
    );
    const files = await blobCount();
    const copy = await t.s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: "mpu-copy", CopySource: `${bucket}/mpu` }),
    );
    assert.equal(copy.CopyObjectResult?.ETag, `"${md5(Buffer.concat(parts))}"`);
    await expectBlobs(files, "no new file");
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "mpu", Body: "overwritten" }));
    assert.equal(md5(await read("mpu-copy")), md5(Buffer.concat(parts)));
  });

  test("UploadPartCopy of a whole object shares its file; a range still copies bytes", async () => {
    const source = randomBytes(5 * MiB + 10);
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "part-src", Body: source }));
    const { UploadId } = await t.s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: "assembled" }),
    );
    const files = await blobCount();
    const copyPart = (PartNumber: number, CopySourceRange?: string) =>
      t.s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: "assembled",
          UploadId,
          PartNumber,
          CopySource: `${bucket}/part-src`,
          ...(CopySourceRange ? { CopySourceRange } : {}),
        }),
      );
    const whole = await copyPart(1);
    assert.equal(whole.CopyPartResult?.ETag, `"${md5(source)}"`);
    await expectBlobs(files, "the whole-object part shares the file");
    const ranged = await copyPart(2, "bytes=0-9");
    await expectBlobs(files + 1, "a range is a new file");
    // Replacing part 1 with a copy of itself drops one reference and adds one: the file stays.
    await copyPart(1);
    await t.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "part-src" }));
    await expectBlobs(files + 1, "the part still references the deleted source's file");
    await t.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: "assembled",
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: whole.CopyPartResult?.ETag },
            { PartNumber: 2, ETag: ranged.CopyPartResult?.ETag },
          ],
        },
      }),
    );
    assert.equal(md5(await read("assembled")), md5(Buffer.concat([source, source.subarray(0, 10)])));
    await t.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "assembled" }));
    await expectBlobs(files - 1, "both files removed with the last reference");
  });
});
