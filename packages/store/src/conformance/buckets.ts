import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { expectS3Error } from "./objects.ts";
import { type ConformanceTarget, withBucket } from "./target.ts";

export function bucketConformance(getTarget: () => ConformanceTarget): void {
  describe("buckets", () => {
    let target: ConformanceTarget;
    let s3: S3Client;
    before(() => {
      target = getTarget();
      s3 = target.client();
    });

    test("create, head, list, refuse to delete while not empty, delete", async () => {
      const bucket = target.bucket("life");
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      const listed = await s3.send(new ListBucketsCommand({}));
      assert.ok(listed.Buckets?.some((b) => b.Name === bucket));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "x", Body: "x" }));
      await expectS3Error(s3.send(new DeleteBucketCommand({ Bucket: bucket })), 409, "BucketNotEmpty");
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "x" }));
      await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
      await expectS3Error(s3.send(new HeadBucketCommand({ Bucket: bucket })), 404);
      await expectS3Error(s3.send(new DeleteBucketCommand({ Bucket: bucket })), 404, "NoSuchBucket");
    });

    test("invalid bucket names are 400 InvalidBucketName", async () => {
      for (const name of ["ab", "UPPER-case", "under_score", "-dash-first"]) {
        await expectS3Error(s3.send(new CreateBucketCommand({ Bucket: name })), 400, "InvalidBucketName");
      }
    });
  });

  describe("listing", () => {
    let s3: S3Client;
    let bucket: string;
    // UTF-8 byte order differs from JavaScript (UTF-16) order: U+1F600 sorts before U+FF5E in UTF-16, after it in UTF-8.
    const keys = ["a/1", "a/2", "a/b/3", "b", "c/x", "c/y", "z\uff5e", "z\u{1f600}", "é"];
    before(async () => {
      ({ s3, bucket } = await withBucket(getTarget(), "listing"));
      for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    });

    const utf8Order = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

    test("ListObjectsV2 lists every key in UTF-8 binary order with sizes and ETags", async () => {
      const result = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      assert.deepEqual(
        result.Contents?.map((o) => o.Key),
        utf8Order,
      );
      assert.equal(result.KeyCount, keys.length);
      assert.equal(result.Contents?.[0]?.Size, 3);
      assert.match(result.Contents?.[0]?.ETag ?? "", /^"[0-9a-f]{32}"$/);
    });

    test("prefix and delimiter roll keys up into CommonPrefixes", async () => {
      const top = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: "/" }));
      assert.deepEqual(
        top.CommonPrefixes?.map((p) => p.Prefix),
        ["a/", "c/"],
      );
      assert.deepEqual(
        top.Contents?.map((o) => o.Key),
        ["b", "z\uff5e", "z\u{1f600}", "é"].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
      );
      const underA = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: "a/", Delimiter: "/" }),
      );
      assert.deepEqual(
        underA.Contents?.map((o) => o.Key),
        ["a/1", "a/2"],
      );
      assert.deepEqual(
        underA.CommonPrefixes?.map((p) => p.Prefix),
        ["a/b/"],
      );
    });

    test("pagination with max-keys and continuation tokens visits every entry once", async () => {
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            MaxKeys: 2,
            Delimiter: "/",
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        pages++;
        seen.push(
          ...(page.CommonPrefixes ?? []).map((p) => p.Prefix as string),
          ...(page.Contents ?? []).map((o) => o.Key as string),
        );
        assert.ok((page.KeyCount ?? 0) <= 2);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
        if (page.IsTruncated) assert.ok(token);
      } while (token && pages < 20);
      assert.deepEqual(seen.sort(), ["a/", "b", "c/", "z\uff5e", "z\u{1f600}", "é"].sort());
      assert.equal(pages, 3);
    });

    test("start-after and ListObjects v1 marker", async () => {
      const after = await s3.send(new ListObjectsV2Command({ Bucket: bucket, StartAfter: "a/b/3" }));
      assert.deepEqual(
        after.Contents?.map((o) => o.Key),
        utf8Order.slice(utf8Order.indexOf("a/b/3") + 1),
      );
      const v1 = await s3.send(new ListObjectsCommand({ Bucket: bucket, Marker: "b", MaxKeys: 2 }));
      assert.deepEqual(
        v1.Contents?.map((o) => o.Key),
        ["c/x", "c/y"],
      );
      assert.equal(v1.IsTruncated, true);
    });

    test("listing a missing bucket is 404 NoSuchBucket", async () => {
      await expectS3Error(
        s3.send(new ListObjectsV2Command({ Bucket: `${bucket}-nope` })),
        404,
        "NoSuchBucket",
      );
    });
  });
}
