import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { GetObjectCommand, PutBucketCorsCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { rawRequest } from "./http.ts";
import { type ConformanceTarget, withBucket } from "./target.ts";

/**
 * CORS as browsers exercise it, sent with node:http exactly as a browser
 * would (preflight OPTIONS with Access-Control-Request-*, then the actual
 * request with Origin): header allowlists, one-`*` origin patterns, and the
 * CORS headers on actual responses (presigned GET/PUT, errors).
 */
export function corsConformance(getTarget: () => ConformanceTarget): void {
  describe("CORS rules as browsers use them", () => {
    let target: ConformanceTarget;
    let s3: S3Client;
    let bucket: string;
    let base: string;
    before(async () => {
      ({ target, s3, bucket } = await withBucket(getTarget(), "cors"));
      base = `${target.endpoint}/${bucket}`;
      await s3.send(
        new PutBucketCorsCommand({
          Bucket: bucket,
          CORSConfiguration: {
            CORSRules: [
              {
                AllowedOrigins: ["*.example.com", "https://app-*", "http://localhost:*"],
                AllowedMethods: ["GET", "PUT", "HEAD"],
                AllowedHeaders: ["x-amz-meta-ok"],
                ExposeHeaders: ["ETag", "x-amz-request-id"],
                MaxAgeSeconds: 300,
              },
              { AllowedOrigins: ["https://uploads.test"], AllowedMethods: ["PUT"], AllowedHeaders: ["*"] },
            ],
          },
        }),
      );
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "seen.txt", Body: "seen" }));
    });
    const preflight = (origin: string, method: string, requestHeaders?: string) =>
      rawRequest({
        url: `${base}/object.bin`,
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": method,
          ...(requestHeaders === undefined ? {} : { "access-control-request-headers": requestHeaders }),
        },
      });

    test("a preflight whose requested headers are all in AllowedHeaders is 200 (any case, any spacing)", async () => {
      for (const headers of ["x-amz-meta-ok", "X-Amz-Meta-Ok", " x-amz-meta-ok ,x-amz-meta-ok"]) {
        const res = await preflight("https://a.example.com", "PUT", headers);
        assert.equal(res.status, 200, `${headers}: ${res.body}`);
        assert.equal(res.headers["access-control-allow-origin"], "https://a.example.com");
        assert.match(String(res.headers["access-control-allow-headers"]), /x-amz-meta-ok/i);
        assert.match(String(res.headers["access-control-allow-methods"]), /PUT/);
        assert.equal(res.headers["access-control-max-age"], "300");
      }
      const refused = await preflight("https://a.example.com", "PUT", "x-amz-meta-ok, x-amz-meta-other");
      assert.equal(refused.status, 403);
      assert.equal(refused.headers["access-control-allow-origin"], undefined);
    });

    test("AllowedOrigin with one '*' matches as S3 does: *.example.com, https://app-*, http://localhost:*", async () => {
      for (const origin of [
        "https://a.example.com",
        "http://deep.sub.example.com",
        "https://app-staging",
        "http://localhost:5173",
      ]) {
        const res = await preflight(origin, "GET");
        assert.equal(res.status, 200, origin);
        assert.equal(res.headers["access-control-allow-origin"], origin);
      }
      for (const origin of ["https://example.com", "https://app.test", "https://localhost:5173"]) {
        const res = await preflight(origin, "GET");
        assert.equal(res.status, 403, origin);
      }
      // A method only the second rule allows, from its origin; not from the first rule's.
      assert.equal((await preflight("https://uploads.test", "PUT", "content-type, x-anything")).status, 200);
      assert.equal((await preflight("https://uploads.test", "GET")).status, 403);
    });

    test("actual responses to an allowed Origin carry Allow-Origin, Expose-Headers and Vary: presigned GET and PUT, errors", async () => {
      const origin = "https://a.example.com";
      const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: "seen.txt" }), {
        expiresIn: 60,
      });
      const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: "put.txt" }), {
        expiresIn: 60,
      });
      const missing = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: "absent.txt" }), {
        expiresIn: 60,
      });
      for (const [label, res, status] of [
        ["GET", await rawRequest({ url: get, headers: { origin } }), 200],
        ["PUT", await rawRequest({ url: put, method: "PUT", body: "put", headers: { origin } }), 200],
        ["404", await rawRequest({ url: missing, headers: { origin } }), 404],
        ["anonymous 403", await rawRequest({ url: `${base}/seen.txt`, headers: { origin } }), 403],
      ] as const) {
        assert.equal(res.status, status, label);
        assert.equal(res.headers["access-control-allow-origin"], origin, label);
        assert.match(String(res.headers["access-control-expose-headers"]), /ETag/i, label);
        assert.match(String(res.headers.vary), /Origin/, label);
      }
      const other = await rawRequest({ url: get, headers: { origin: "https://evil.test" } });
      assert.equal(other.status, 200);
      assert.equal(other.headers["access-control-allow-origin"], undefined);
    });
  });
}
