import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import {
  CreateBucketCommand,
  GetBucketCorsCommand,
  GetBucketLifecycleConfigurationCommand,
  HeadObjectCommand,
  PutBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createPresignedPost, FILENAME_VARIABLE, type PresignedPostOptions } from "@sluice/sigv4";
import { md5Base64, rawRequest, signedRequest } from "./http.ts";
import { expectS3Error } from "./objects.ts";
import type { ConformanceTarget } from "./target.ts";

/**
 * What a browser touches besides PUT: POST policy uploads, CORS, canned ACLs
 * for public reads, and the lifecycle configuration API. Ceph RGW 16 has all
 * of them, so these assertions hold for both targets. (Notifications differ:
 * RGW configures webhooks through its SNS topics API; ours are tested in
 * notifications/notifications.test.ts.)
 */

async function postForm(
  url: string,
  fields: Record<string, string>,
  file: { data: string | Buffer; name: string },
) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append(
    "file",
    new Blob([typeof file.data === "string" ? file.data : new Uint8Array(file.data)]),
    file.name,
  );
  const res = await fetch(url, { method: "POST", body: form, redirect: "manual" });
  const body = await res.text();
  return {
    status: res.status,
    body,
    code: /<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? "-",
    headers: res.headers,
  };
}

export function browserConformance(getTarget: () => ConformanceTarget): void {
  let target: ConformanceTarget;
  let s3: S3Client;
  let bucket: string;
  let bucketUrl: string;
  before(async () => {
    target = getTarget();
    s3 = target.client();
    bucket = target.bucket("browser");
    bucketUrl = `${target.endpoint}/${bucket}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  describe("POST policy uploads", () => {
    const grant = (overrides: Partial<PresignedPostOptions> = {}) =>
      createPresignedPost({
        url: bucketUrl,
        key: `post/${FILENAME_VARIABLE}`,
        credentials: target.credentials,
        region: target.region,
        expiresIn: 120,
        fields: { "Content-Type": "image/png" },
        conditions: [["content-length-range", 1, 1024]],
        ...overrides,
      });

    test("a signed form uploads the file (204), with the filename substituted and Content-Type stored", async () => {
      const res = await postForm(grant().url, grant().fields, { data: "png bytes", name: "ok.png" });
      assert.equal(res.status, 204, res.body);
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "post/ok.png" }));
      assert.equal(head.ContentLength, 9);
      assert.equal(head.ContentType, "image/png");
    });

    test("success_action_status 201 answers an XML PostResponse", async () => {
      const post = grant({ key: "post/201", fields: { success_action_status: "201" } });
      const res = await postForm(post.url, post.fields, { data: "x", name: "x" });
      assert.equal(res.status, 201);
      assert.match(res.body, /<PostResponse[\s>]/);
      assert.match(res.body, /<Key>post\/201<\/Key>/);
    });

    test("a file above content-length-range is 400 EntityTooLarge and is not stored", async () => {
      const post = grant({ key: "post/big" });
      const res = await postForm(post.url, post.fields, { data: Buffer.alloc(2048, 1), name: "big" });
      assert.equal(res.status, 400);
      assert.equal(res.code, "EntityTooLarge");
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "post/big" })), 404);
    });

    test("a field violating a condition is 403 AccessDenied; a changed signature or policy is 403 SignatureDoesNotMatch", async () => {
      const post = grant({ key: "post/cond", conditions: [["starts-with", "$Content-Type", "image/"]] });
      const violated = await postForm(
        post.url,
        { ...post.fields, "Content-Type": "text/html" },
        { data: "x", name: "x" },
      );
      assert.equal(violated.status, 403);
      assert.equal(violated.code, "AccessDenied");
      const signature = post.fields["X-Amz-Signature"] as string;
      const forged = await postForm(
        post.url,
        { ...post.fields, "X-Amz-Signature": `${signature[0] === "0" ? "1" : "0"}${signature.slice(1)}` },
        { data: "x", name: "x" },
      );
      const other = grant({ key: "post/cond", conditions: [] });
      const swapped = await postForm(
        post.url,
        { ...post.fields, Policy: other.fields.Policy as string },
        { data: "x", name: "x" },
      );
      for (const res of [forged, swapped]) {
        assert.equal(res.status, 403);
        // AWS S3 names it SignatureDoesNotMatch; Ceph RGW 16 answers a bad POST signature with AccessDenied.
        assert.equal(res.code, target.kind === "rgw" ? "AccessDenied" : "SignatureDoesNotMatch");
      }
    });

    test("an expired policy is 403 AccessDenied", async () => {
      const post = grant({ key: "post/late", now: new Date(Date.now() - 2 * 3_600_000), expiresIn: 60 });
      const res = await postForm(post.url, post.fields, { data: "x", name: "x" });
      assert.equal(res.status, 403);
      assert.equal(res.code, "AccessDenied");
    });

    test("a form field the policy does not cover is 403 AccessDenied", async () => {
      const post = grant({ key: "post/extra" });
      const res = await postForm(
        post.url,
        { ...post.fields, "x-amz-meta-extra": "1" },
        { data: "x", name: "x" },
      );
      assert.equal(res.status, 403);
      assert.equal(res.code, "AccessDenied");
    });
  });

  describe("CORS", () => {
    const origin = "https://app.example.test";
    before(async () => {
      await s3.send(
        new PutBucketCorsCommand({
          Bucket: bucket,
          CORSConfiguration: {
            CORSRules: [
              {
                AllowedOrigins: [origin],
                AllowedMethods: ["GET", "PUT", "POST", "HEAD"],
                AllowedHeaders: ["*"],
                ExposeHeaders: ["ETag"],
                MaxAgeSeconds: 600,
              },
            ],
          },
        }),
      );
    });

    test("GetBucketCors returns the rule", async () => {
      const got = await s3.send(new GetBucketCorsCommand({ Bucket: bucket }));
      assert.deepEqual(got.CORSRules?.[0]?.AllowedOrigins, [origin]);
      assert.deepEqual(got.CORSRules?.[0]?.ExposeHeaders, ["ETag"]);
    });

    test("a preflight from the allowed origin is 200 with Access-Control-Allow-Origin; another origin gets none", async () => {
      const preflight = (from: string) =>
        rawRequest({
          url: `${bucketUrl}/post/new.bin`,
          method: "OPTIONS",
          headers: {
            origin: from,
            "access-control-request-method": "PUT",
            "access-control-request-headers": "content-type",
          },
        });
      const ok = await preflight(origin);
      assert.equal(ok.status, 200);
      assert.equal(ok.headers["access-control-allow-origin"], origin);
      assert.match(String(ok.headers["access-control-allow-methods"]), /PUT/);
      const denied = await preflight("https://evil.example.test");
      assert.equal(denied.status, 403);
      assert.equal(denied.headers["access-control-allow-origin"], undefined);
    });

    test("a real presigned PUT from the allowed origin exposes ETag", async () => {
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: "cors.bin" }), {
        expiresIn: 60,
      });
      const res = await fetch(url, { method: "PUT", body: "cors", headers: { origin } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("access-control-allow-origin"), origin);
      assert.match(res.headers.get("access-control-expose-headers") ?? "", /etag/i);
    });

    test("GetBucketCors without a configuration is 404 NoSuchCORSConfiguration", async () => {
      const empty = target.bucket("nocors");
      await s3.send(new CreateBucketCommand({ Bucket: empty }));
      await expectS3Error(
        s3.send(new GetBucketCorsCommand({ Bucket: empty })),
        404,
        "NoSuchCORSConfiguration",
      );
    });

    test("malformed CORS XML is 400 MalformedXML", async () => {
      const res = await signedRequest(target, {
        method: "PUT",
        path: `/${bucket}?cors`,
        body: "<CORSConfiguration><CORSRule>",
      });
      assert.equal(res.status, 400);
      assert.equal(res.code, "MalformedXML");
    });
  });

  describe("canned ACLs", () => {
    test("anonymous GET: 403 on a private object, 200 once it is public-read, 403 again when private", async () => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "acl/avatar.png", Body: "avatar" }));
      const anonymous = () => fetch(`${bucketUrl}/acl/avatar.png`);
      assert.equal((await anonymous()).status, 403);
      await s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: "acl/avatar.png", ACL: "public-read" }));
      const res = await anonymous();
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "avatar");
      await s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: "acl/avatar.png", ACL: "private" }));
      assert.equal((await anonymous()).status, 403);
    });

    test("x-amz-acl public-read on PutObject; a public-read bucket lists anonymously", async () => {
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: "acl/public.txt", Body: "p", ACL: "public-read" }),
      );
      assert.equal((await fetch(`${bucketUrl}/acl/public.txt`)).status, 200);
      const listed = target.bucket("publist");
      await s3.send(new CreateBucketCommand({ Bucket: listed, ACL: "public-read" }));
      await s3.send(new PutObjectCommand({ Bucket: listed, Key: "k", Body: "k" }));
      const list = await fetch(`${target.endpoint}/${listed}?list-type=2`);
      assert.equal(list.status, 200);
      assert.match(await list.text(), /<Key>k<\/Key>/);
      assert.equal(
        (await fetch(`${target.endpoint}/${listed}/k`)).status,
        403,
        "listing does not make objects readable",
      );
    });
  });

  describe("lifecycle configuration", () => {
    test("Put/Get round-trip; none is 404 NoSuchLifecycleConfiguration; malformed is 400 MalformedXML", async () => {
      const lifecycle = target.bucket("lifecycle");
      await s3.send(new CreateBucketCommand({ Bucket: lifecycle }));
      await expectS3Error(
        s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: lifecycle })),
        404,
        "NoSuchLifecycleConfiguration",
      );
      await s3.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: lifecycle,
          LifecycleConfiguration: {
            Rules: [
              { ID: "tmp", Status: "Enabled", Filter: { Prefix: "tmp/" }, Expiration: { Days: 1 } },
              {
                ID: "mpu",
                Status: "Enabled",
                Filter: { Prefix: "" },
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
              },
            ],
          },
        }),
      );
      const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: lifecycle }));
      const byId = new Map(got.Rules?.map((rule) => [rule.ID, rule]));
      assert.equal(byId.get("tmp")?.Expiration?.Days, 1);
      assert.equal(byId.get("tmp")?.Filter?.Prefix, "tmp/");
      assert.equal(byId.get("mpu")?.AbortIncompleteMultipartUpload?.DaysAfterInitiation, 2);
      const body = "<LifecycleConfiguration><Rule><Status>Enabled";
      const res = await signedRequest(target, {
        method: "PUT",
        path: `/${lifecycle}?lifecycle`,
        body,
        headers: { "content-md5": md5Base64(body) },
      });
      assert.equal(res.status, 400);
      assert.equal(res.code, "MalformedXML");
    });
  });
}
