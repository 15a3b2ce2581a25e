import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  HeadBucketCommand,
  PutBucketAclCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { signedRequest } from "./conformance/http.ts";
import { expectS3Error } from "./conformance/objects.ts";
import { CREDENTIALS, openTestStore, type TestStore } from "./test/harness.ts";

const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";

describe("canned ACLs and anonymous access", () => {
  let t: TestStore;
  const bucket = "acl";
  const anonymous = (path: string, init?: RequestInit) => fetch(`${t.endpoint}/${path}`, init);
  const signed = (options: {
    method: string;
    path: string;
    body?: string;
    headers?: Record<string, string>;
  }) =>
    signedRequest({ endpoint: t.endpoint, region: "us-east-1", credentials: CREDENTIALS } as never, options);
  before(async () => {
    t = await openTestStore({ buckets: [bucket] });
  });
  after(() => t.close());

  test("objects are private by default: anonymous GET/HEAD/?attributes 403, ListBuckets 403", async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "private.txt", Body: "secret" }));
    assert.equal((await anonymous(`${bucket}/private.txt`)).status, 403);
    assert.equal((await anonymous(`${bucket}/private.txt`, { method: "HEAD" })).status, 403);
    const attributes = { headers: { "x-amz-object-attributes": "ObjectSize" } };
    assert.equal((await anonymous(`${bucket}/private.txt?attributes`, attributes)).status, 403);
    assert.equal((await anonymous(`${bucket}/missing`)).status, 403);
    assert.equal((await anonymous("")).status, 403);
    assert.equal((await anonymous(`${bucket}?list-type=2`)).status, 403);
  });

  test("PutObject with x-amz-acl public-read: anonymous GET, HEAD and ?attributes 200, GetObjectAcl shows AllUsers READ", async () => {
    await t.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "avatar.png",
        Body: "png",
        ACL: "public-read",
        ContentType: "image/png",
      }),
    );
    const res = await anonymous(`${bucket}/avatar.png`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "png");
    assert.equal(res.headers.get("x-amz-acl"), null, "the ACL is not sent back as a header");
    assert.equal((await anonymous(`${bucket}/avatar.png`, { method: "HEAD" })).status, 200);
    const attributes = await anonymous(`${bucket}/avatar.png?attributes`, {
      headers: { "x-amz-object-attributes": "ObjectSize" },
    });
    assert.equal(attributes.status, 200);
    assert.match(await attributes.text(), /<ObjectSize>3<\/ObjectSize>/);
    // response-* overrides stay refused for anonymous requests.
    assert.equal((await anonymous(`${bucket}/avatar.png?response-content-type=text/html`)).status, 400);
    const acl = await t.s3.send(new GetObjectAclCommand({ Bucket: bucket, Key: "avatar.png" }));
    assert.deepEqual(
      acl.Grants?.map((grant) => [grant.Grantee?.URI ?? grant.Grantee?.ID, grant.Permission]),
      [
        ["sluice", "FULL_CONTROL"],
        [ALL_USERS, "READ"],
      ],
    );
    assert.equal(acl.Grants?.[1]?.Grantee?.Type, "Group");
  });

  test("the ACL belongs to the version: an overwrite without x-amz-acl is private again; a copy does not inherit it", async () => {
    await t.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "flip.txt", Body: "v1", ACL: "public-read" }),
    );
    assert.equal((await anonymous(`${bucket}/flip.txt`)).status, 200);
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "flip.txt", Body: "v2" }));
    assert.equal((await anonymous(`${bucket}/flip.txt`)).status, 403);
    await t.s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: "copy.png", CopySource: `${bucket}/avatar.png` }),
    );
    assert.equal((await anonymous(`${bucket}/copy.png`)).status, 403);
    await t.s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: "copy2.png",
        CopySource: `${bucket}/avatar.png`,
        ACL: "public-read",
      }),
    );
    assert.equal((await anonymous(`${bucket}/copy2.png`)).status, 200);
  });

  test("PutObjectAcl by header and by AccessControlPolicy XML", async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "toggle.txt", Body: "t" }));
    await t.s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: "toggle.txt", ACL: "public-read" }));
    assert.equal((await anonymous(`${bucket}/toggle.txt`)).status, 200);
    await t.s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: "toggle.txt", ACL: "private" }));
    assert.equal((await anonymous(`${bucket}/toggle.txt`)).status, 403);
    await t.s3.send(
      new PutObjectAclCommand({
        Bucket: bucket,
        Key: "toggle.txt",
        AccessControlPolicy: {
          Owner: { ID: "sluice" },
          Grants: [
            { Grantee: { Type: "CanonicalUser", ID: "sluice" }, Permission: "FULL_CONTROL" },
            { Grantee: { Type: "Group", URI: ALL_USERS }, Permission: "READ" },
          ],
        },
      }),
    );
    assert.equal((await anonymous(`${bucket}/toggle.txt`)).status, 200);
    const got = await t.s3.send(new GetObjectAclCommand({ Bucket: bucket, Key: "toggle.txt" }));
    assert.equal(got.Grants?.length, 2);
    await expectS3Error(
      t.s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: "absent", ACL: "public-read" })),
      404,
      "NoSuchKey",
    );
  });

  test("x-amz-acl on CreateMultipartUpload applies to the completed object", async () => {
    const { UploadId } = await t.s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: "mpu.bin", ACL: "public-read" }),
    );
    const part = await t.s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: "mpu.bin", UploadId, PartNumber: 1, Body: "parts" }),
    );
    await t.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: "mpu.bin",
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const res = await anonymous(`${bucket}/mpu.bin`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "parts");
  });

  test("bucket public-read: anonymous listing and HEAD bucket, a missing key is 404, private objects stay 403", async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: "listing", ACL: "public-read" }));
    await t.s3.send(new PutObjectCommand({ Bucket: "listing", Key: "hidden.txt", Body: "h" }));
    const list = await anonymous("listing?list-type=2");
    assert.equal(list.status, 200);
    assert.match(await list.text(), /<Key>hidden.txt<\/Key>/);
    assert.equal((await anonymous("listing", { method: "HEAD" })).status, 200);
    assert.equal((await anonymous("listing/hidden.txt")).status, 403);
    assert.equal((await anonymous("listing/nothing-here")).status, 404);
    assert.equal((await anonymous("listing/x", { method: "PUT", body: "x" })).status, 403);
    const acl = await t.s3.send(new GetBucketAclCommand({ Bucket: "listing" }));
    assert.deepEqual(
      acl.Grants?.map((grant) => grant.Permission),
      ["FULL_CONTROL", "READ"],
    );
  });

  test("bucket public-read-write: anonymous PUT and DELETE; PutBucketAcl private closes it", async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: "dropbox" }));
    await t.s3.send(new PutBucketAclCommand({ Bucket: "dropbox", ACL: "public-read-write" }));
    const put = await anonymous("dropbox/anon.txt", { method: "PUT", body: "anon" });
    assert.equal(put.status, 200);
    assert.equal((await anonymous("dropbox/anon.txt", { method: "DELETE" })).status, 204);
    await t.s3.send(new PutBucketAclCommand({ Bucket: "dropbox", ACL: "private" }));
    assert.equal((await anonymous("dropbox/anon2.txt", { method: "PUT", body: "anon" })).status, 403);
    await t.s3.send(new HeadBucketCommand({ Bucket: "dropbox" }));
  });

  test("hostile: unknown canned ACL is 400 (no bucket created), malformed ACL XML is 400 MalformedXML", async () => {
    const bad = await signed({ method: "PUT", path: "/badacl", headers: { "x-amz-acl": "world-writable" } });
    assert.equal(bad.status, 400);
    assert.equal(bad.code, "InvalidArgument");
    await expectS3Error(t.s3.send(new HeadBucketCommand({ Bucket: "badacl" })), 404);
    const badPut = await signed({
      method: "PUT",
      path: `/${bucket}/x`,
      body: "x",
      headers: { "x-amz-acl": "nope" },
    });
    assert.equal(badPut.code, "InvalidArgument");
    for (const body of [
      "<AccessControlPolicy><AccessControlList>",
      "<Nope/>",
      "<AccessControlPolicy><AccessControlList><Grant>x</Grant></AccessControlList></AccessControlPolicy>",
    ]) {
      const res = await signed({ method: "PUT", path: `/${bucket}?acl`, body });
      assert.equal(res.status, 400, body);
      assert.equal(res.code, "MalformedXML", body);
    }
    const got = await t.s3.send(new GetBucketAclCommand({ Bucket: bucket }));
    assert.equal(got.Grants?.length, 1, "the bucket stays private");
  });
});
