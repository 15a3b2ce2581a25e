import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, test } from "node:test";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { expectS3Error, md5Hex } from "./objects.ts";
import { type ConformanceTarget, withBucket } from "./target.ts";

const MiB = 1024 * 1024;
const RGW_REASON = "Ceph RGW 16 ignores ?attributes (200 with the object's bytes, no XML): ours only";
const ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"] as const;

export function objectAttributesConformance(getTarget: () => ConformanceTarget): void {
  describe("GetObjectAttributes (?attributes)", () => {
    let target: ConformanceTarget;
    let s3: S3Client;
    let bucket: string;
    before(async () => {
      ({ target, s3, bucket } = await withBucket(getTarget(), "attributes"));
    });

    const attributes = (Key: string, extra: Partial<GetObjectAttributesCommand["input"]> = {}) =>
      s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key, ObjectAttributes: [...ALL], ...extra }));

    async function multipart(key: string, checksummed: boolean) {
      const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(1000)];
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          ...(checksummed ? { ChecksumAlgorithm: "CRC32" as const } : {}),
        }),
      );
      // The SDK adds a CRC32 to every part at its defaults; "unchecksummed" parts are sent without.
      const client = checksummed ? s3 : target.client({ requestChecksumCalculation: "WHEN_REQUIRED" });
      const done = [];
      for (const [index, Body] of parts.entries()) {
        const part = await client.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId,
            PartNumber: index + 1,
            Body,
            ...(checksummed ? { ChecksumAlgorithm: "CRC32" as const } : {}),
          }),
        );
        done.push({ PartNumber: index + 1, ETag: part.ETag, ChecksumCRC32: part.ChecksumCRC32 });
      }
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: done },
        }),
      );
      return { parts, done };
    }

    test("a plain PUT object: ETag without quotes, ObjectSize, StorageClass, its checksum (SDK defaults), no ObjectParts, Last-Modified", async (t) => {
      if (target.kind === "rgw") return t.skip(RGW_REASON);
      const body = randomBytes(3000);
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "plain.bin", Body: body }));
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "plain.bin" }));
      const got = await attributes("plain.bin");
      assert.equal(got.ETag, md5Hex(body));
      assert.equal(got.ObjectSize, 3000);
      assert.equal(got.StorageClass, "STANDARD");
      assert.equal(got.ObjectParts, undefined);
      assert.deepEqual(got.LastModified, head.LastModified);
      assert.ok(put.ChecksumCRC32, "the SDK sends a CRC32 at its defaults");
      assert.deepEqual(
        [got.Checksum?.ChecksumCRC32, got.Checksum?.ChecksumType],
        [put.ChecksumCRC32, "FULL_OBJECT"],
      );
      const some = await attributes("plain.bin", { ObjectAttributes: ["ObjectSize"] });
      assert.deepEqual(
        [some.ObjectSize, some.ETag, some.StorageClass, some.Checksum],
        [3000, undefined, undefined, undefined],
      );
    });

    test("a multipart object uploaded with CRC32: PartsCount, each part's size and checksum, paged by MaxParts/PartNumberMarker; the composite checksum without -N", async (t) => {
      if (target.kind === "rgw") return t.skip(RGW_REASON);
      const { parts, done } = await multipart("mp/checksummed.bin", true);
      const got = await attributes("mp/checksummed.bin");
      assert.match(got.ETag ?? "", /^[0-9a-f]{32}-3$/);
      assert.equal(got.ObjectSize, 10 * MiB + 1000);
      assert.equal(got.ObjectParts?.TotalPartsCount, 3);
      assert.deepEqual(
        got.ObjectParts?.Parts?.map((part) => [part.PartNumber, part.Size, part.ChecksumCRC32]),
        done.map((part, index) => [part.PartNumber, parts[index]?.length, part.ChecksumCRC32]),
      );
      assert.equal(got.ObjectParts?.IsTruncated, false);
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: "mp/checksummed.bin", ChecksumMode: "ENABLED" }),
      );
      assert.equal(got.Checksum?.ChecksumType, "COMPOSITE");
      assert.equal(`${got.Checksum?.ChecksumCRC32}-3`, head.ChecksumCRC32);
      const first = await attributes("mp/checksummed.bin", { MaxParts: 2 });
      assert.deepEqual(
        [
          first.ObjectParts?.Parts?.length,
          first.ObjectParts?.IsTruncated,
          first.ObjectParts?.NextPartNumberMarker,
        ],
        [2, true, "2"],
      );
      const rest = await attributes("mp/checksummed.bin", { MaxParts: 2, PartNumberMarker: "2" });
      assert.deepEqual(
        rest.ObjectParts?.Parts?.map((part) => part.PartNumber),
        [3],
      );
      assert.equal(rest.ObjectParts?.IsTruncated, false);
      assert.equal(rest.ObjectParts?.TotalPartsCount, 3);
    });

    test("a multipart object without checksums: PartsCount only, the same count as x-amz-mp-parts-count on HEAD ?partNumber", async (t) => {
      if (target.kind === "rgw") return t.skip(RGW_REASON);
      await multipart("mp/plain.bin", false);
      const got = await attributes("mp/plain.bin");
      assert.equal(got.ObjectParts?.TotalPartsCount, 3);
      assert.equal(got.ObjectParts?.Parts, undefined);
      assert.equal(got.Checksum, undefined);
      const part = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: "mp/plain.bin", PartNumber: 1 }),
      );
      assert.equal(part.PartsCount, got.ObjectParts?.TotalPartsCount);
    });

    test("404 NoSuchKey; 400 InvalidArgument for an unknown attribute or none; conditional headers as HEAD (presigned)", async (t) => {
      if (target.kind === "rgw") return t.skip(RGW_REASON);
      await expectS3Error(attributes("missing"), 404, "NoSuchKey");
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "cond.txt", Body: "conditional" }));
      await expectS3Error(
        attributes("cond.txt", { ObjectAttributes: ["Bogus" as "ETag"] }),
        400,
        "InvalidArgument",
      );
      const signed = await getSignedUrl(
        s3,
        new GetObjectAttributesCommand({ Bucket: bucket, Key: "cond.txt", ObjectAttributes: ["ETag"] }),
        { expiresIn: 60, unhoistableHeaders: new Set(["x-amz-object-attributes"]) },
      );
      const headers = { "x-amz-object-attributes": "ETag" };
      const ok = await fetch(signed, { headers });
      const etag = /<ETag>([^<]+)<\/ETag>/.exec(await ok.text())?.[1];
      assert.equal(ok.status, 200);
      assert.equal(etag, md5Hex("conditional"));
      assert.equal(
        (await fetch(signed, { headers: { ...headers, "if-none-match": `"${etag}"` } })).status,
        304,
      );
      assert.equal((await fetch(signed, { headers: { ...headers, "if-match": '"other"' } })).status, 412);
      const bare = target.client();
      // Without the header (the SDK always sends it): signed as it is.
      bare.middlewareStack.add(
        (next) => (args) => {
          delete (args.request as { headers: Record<string, string> }).headers["x-amz-object-attributes"];
          return next(args);
        },
        { step: "build" },
      );
      await expectS3Error(
        bare.send(
          new GetObjectAttributesCommand({ Bucket: bucket, Key: "cond.txt", ObjectAttributes: ["ETag"] }),
        ),
        400,
        "InvalidArgument",
      );
    });

    test("?versionId is refused as on GetObject (no versioning here)", async (t) => {
      if (target.kind === "rgw") return t.skip(RGW_REASON);
      await expectS3Error(attributes("cond.txt", { VersionId: "v1" }), 501, "NotImplemented");
    });
  });
}
