import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { before, describe, test } from "node:test";
import { crc32 } from "node:zlib";
import { Crc64Nvme } from "@aws-sdk/checksums/crc";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { expectS3Error } from "./objects.ts";
import { type ConformanceTarget, withBucket } from "./target.ts";

const RGW_REASON = "Ceph RGW 16 ignores x-amz-checksum-* (flexible checksums): ours only";

function crc32Base64(data: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0);
  return out.toString("base64");
}

export function checksumConformance(getTarget: () => ConformanceTarget): void {
  describe("flexible checksums (x-amz-checksum-*)", () => {
    let target: ConformanceTarget;
    let s3: S3Client;
    let bucket: string;
    before(async () => {
      ({ target, s3, bucket } = await withBucket(getTarget(), "checksums"));
    });

    test("SHA-256, CRC32 and CRC32C sent as headers are verified, stored and returned with x-amz-checksum-mode", async (t) => {
      if (target.kind === "rgw") return t.skip(RGW_REASON);
      const body = randomBytes(5000);
      const sha256 = createHash("sha256").update(body).digest("base64");
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "sha", Body: body, ChecksumSHA256: sha256 }));
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: "sha", ChecksumMode: "ENABLED" }),
      );
      assert.equal(head.ChecksumSHA256, sha256);
      const plain = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "sha" }));
      assert.equal(plain.ChecksumSHA256, undefined);
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: "crc", Body: body, ChecksumCRC32: crc32Base64(body) }),
      );
      const got = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: "crc", ChecksumMode: "ENABLED" }),
      );
      assert.equal(got.ChecksumCRC32, crc32Base64(body));
      await got.Body?.transformToString();
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: "crcc", Body: body, ChecksumAlgorithm: "CRC32C" }),
      );
      const crcc = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: "crcc", ChecksumMode: "ENABLED" }),
      );
      assert.match(crcc.ChecksumCRC32C ?? "", /^[A-Za-z0-9+/]{6}==$/);
    });

    test("CRC64NVME and SHA1 from the AWS SDK (header and streamed trailer) are verified and returned with their type; the SDK's own CRC64NVME is the oracle", async (t) => {
      if (target.kind === "rgw") return t.skip(RGW_REASON);
      const body = randomBytes(300_000);
      const oracle = new Crc64Nvme();
      oracle.update(body);
      const crc64 = Buffer.from(await oracle.digest()).toString("base64");
      // A Buffer: the SDK sends the checksum as a header; a stream: as an aws-chunked trailer.
      for (const [key, Body] of [
        ["crc64/header", body],
        ["crc64/trailer", Readable.from([body.subarray(0, 100_000), body.subarray(100_000)])],
      ] as const) {
        const put = await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body,
            ContentLength: body.length,
            ChecksumAlgorithm: "CRC64NVME",
          }),
        );
        assert.equal(put.ChecksumCRC64NVME, crc64, key);
        const head = await s3.send(
          new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }),
        );
        assert.deepEqual([head.ChecksumCRC64NVME, head.ChecksumType], [crc64, "FULL_OBJECT"], key);
      }
      const sha1 = createHash("sha1").update(body).digest("base64");
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "sha1", Body: body, ChecksumSHA1: sha1 }));
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: "sha1", ChecksumMode: "ENABLED" }),
      );
      assert.equal(head.ChecksumSHA1, sha1);
      for (const wrong of [
        { ChecksumCRC64NVME: "AAAAAAAAAAA=" },
        { ChecksumSHA1: createHash("sha1").update("other").digest("base64") },
      ]) {
        await expectS3Error(
          s3.send(new PutObjectCommand({ Bucket: bucket, Key: "crc64/wrong", Body: body, ...wrong })),
          400,
          "BadDigest",
        );
      }
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "crc64/wrong" })), 404);
    });

    test("multipart FULL_OBJECT CRC64NVME (parts combined, Complete carries the object's value) and COMPOSITE SHA256 (-N), by the AWS SDK", async (t) => {
      if (target.kind === "rgw") return t.skip(RGW_REASON);
      const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1000)];
      const whole = new Crc64Nvme();
      for (const part of parts) whole.update(part);
      const fullCrc = Buffer.from(await whole.digest()).toString("base64");
      const upload = async (
        key: string,
        algorithm: "CRC64NVME" | "SHA256",
        complete: Record<string, string> = {},
      ) => {
        const { UploadId } = await s3.send(
          new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: algorithm }),
        );
        const done = [];
        for (const [index, Body] of parts.entries()) {
          const part = await s3.send(
            new UploadPartCommand({
              Bucket: bucket,
              Key: key,
              UploadId,
              PartNumber: index + 1,
              Body,
              ChecksumAlgorithm: algorithm,
            }),
          );
          done.push({
            PartNumber: index + 1,
            ETag: part.ETag,
            ChecksumCRC64NVME: part.ChecksumCRC64NVME,
            ChecksumSHA256: part.ChecksumSHA256,
          });
        }
        return s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId,
            MultipartUpload: { Parts: done },
            ...complete,
          }),
        );
      };
      await expectS3Error(
        upload("mp/full-wrong", "CRC64NVME", {
          ChecksumCRC64NVME: "AAAAAAAAAAA=",
          ChecksumType: "FULL_OBJECT",
        }),
        400,
        "BadDigest",
      );
      await upload("mp/full", "CRC64NVME", { ChecksumCRC64NVME: fullCrc, ChecksumType: "FULL_OBJECT" });
      const full = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: "mp/full", ChecksumMode: "ENABLED" }),
      );
      assert.deepEqual([full.ChecksumCRC64NVME, full.ChecksumType], [fullCrc, "FULL_OBJECT"]);
      await upload("mp/composite", "SHA256");
      const composite = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: "mp/composite", ChecksumMode: "ENABLED" }),
      );
      const ofParts = createHash("sha256");
      for (const part of parts) ofParts.update(createHash("sha256").update(part).digest());
      assert.deepEqual(
        [composite.ChecksumSHA256, composite.ChecksumType],
        [`${ofParts.digest("base64")}-2`, "COMPOSITE"],
      );
    });

    test("a wrong checksum is 400 BadDigest and nothing is stored", async (t) => {
      if (target.kind === "rgw") return t.skip(RGW_REASON);
      const wrong = createHash("sha256").update("other").digest("base64");
      await expectS3Error(
        s3.send(new PutObjectCommand({ Bucket: bucket, Key: "bad", Body: "payload", ChecksumSHA256: wrong })),
        400,
        "BadDigest",
      );
      await expectS3Error(
        s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: "bad",
            Body: "payload",
            ChecksumCRC32: crc32Base64(Buffer.from("x")),
          }),
        ),
        400,
        "BadDigest",
      );
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "bad" })), 404);
    });

    test("a streamed body's CRC32 trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER) is verified and stored", async (t) => {
      if (target.kind === "rgw") return t.skip(RGW_REASON);
      const body = randomBytes(100_000);
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: "trailer",
          Body: Readable.from([body]),
          ContentLength: body.length,
        }),
      );
      assert.equal(put.ChecksumCRC32, crc32Base64(body));
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: "trailer", ChecksumMode: "ENABLED" }),
      );
      assert.equal(head.ChecksumCRC32, crc32Base64(body));
    });
  });
}
