import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketCorsCommand,
  GetBucketCorsCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { signedRequest } from "./conformance/http.ts";
import { expectS3Error } from "./conformance/objects.ts";
import { CREDENTIALS, openTestStore, type TestStore } from "./test/harness.ts";

const APP = "https://app.example.test";

describe("CORS (bucket configuration, preflight, real responses)", () => {
  let t: TestStore;
  let url: string;
  const bucket = "cors";
  before(async () => {
    t = await openTestStore({ buckets: [bucket, "nocors"] });
    url = `${t.endpoint}/${bucket}`;
    await t.s3.send(
      new PutBucketCorsCommand({
        Bucket: bucket,
        CORSConfiguration: {
          CORSRules: [
            {
              ID: "app",
              AllowedOrigins: [APP, "https://*.preview.example.test"],
              AllowedMethods: ["GET", "PUT", "POST", "HEAD"],
              AllowedHeaders: ["content-type", "x-amz-*"],
              ExposeHeaders: ["ETag"],
              MaxAgeSeconds: 600,
            },
            { AllowedOrigins: ["*"], AllowedMethods: ["GET"] },
          ],
        },
      }),
    );
  });
  after(() => t.close());

  const preflight = (origin: string | undefined, method: string, headers?: string, target = url) =>
    fetch(`${target}/some/key`, {
      method: "OPTIONS",
      headers: {
        ...(origin ? { origin } : {}),
        "access-control-request-method": method,
        ...(headers ? { "access-control-request-headers": headers } : {}),
      },
    });

  test("GetBucketCors returns the rules; 404 NoSuchCORSConfiguration without any", async () => {
    const got = await t.s3.send(new GetBucketCorsCommand({ Bucket: bucket }));
    assert.equal(got.CORSRules?.length, 2);
    assert.deepEqual(got.CORSRules?.[0]?.AllowedOrigins, [APP, "https://*.preview.example.test"]);
    assert.deepEqual(got.CORSRules?.[0]?.ExposeHeaders, ["ETag"]);
    assert.equal(got.CORSRules?.[0]?.MaxAgeSeconds, 600);
    await expectS3Error(
      t.s3.send(new GetBucketCorsCommand({ Bucket: "nocors" })),
      404,
      "NoSuchCORSConfiguration",
    );
  });

  test("an allowed preflight (wildcard origin and header): 200 with the Access-Control-* headers", async () => {
    const res = await preflight(
      "https://pr-42.preview.example.test",
      "PUT",
      "Content-Type, X-Amz-Checksum-Sha256",
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://pr-42.preview.example.test");
    assert.equal(res.headers.get("access-control-allow-methods"), "GET, PUT, POST, HEAD");
    assert.equal(res.headers.get("access-control-allow-headers"), "content-type, x-amz-checksum-sha256");
    assert.equal(res.headers.get("access-control-expose-headers"), "ETag");
    assert.equal(res.headers.get("access-control-max-age"), "600");
    assert.match(res.headers.get("vary") ?? "", /Origin/);
  });

  test("a preflight no rule allows is 403 CORSResponse; no Origin is 400; no configuration is 403", async () => {
    for (const [origin, method, headers] of [
      ["https://evil.example.test", "PUT", undefined],
      [APP, "DELETE", undefined],
      [APP, "PUT", "authorization"],
      ["https://x.preview.example.test.evil.test", "PUT", undefined],
    ] as const) {
      const res = await preflight(origin, method, headers);
      assert.equal(res.status, 403, `${origin} ${method} ${headers}`);
      assert.match(await res.text(), /<Code>CORSResponse<\/Code>/);
      assert.equal(res.headers.get("access-control-allow-origin"), null);
    }
    const anyOrigin = await preflight("https://anyone.test", "GET");
    assert.equal(anyOrigin.headers.get("access-control-allow-origin"), "*");
    assert.equal((await preflight(undefined, "PUT")).status, 400);
    assert.equal((await preflight(APP, "PUT", undefined, `${t.endpoint}/nocors`)).status, 403);
    assert.equal((await preflight(APP, "PUT", undefined, `${t.endpoint}/missing-bucket`)).status, 403);
  });

  test("a real presigned PUT from an allowed origin exposes ETag; other origins get no CORS headers", async () => {
    const put = await getSignedUrl(t.s3, new PutObjectCommand({ Bucket: bucket, Key: "from-browser.txt" }), {
      expiresIn: 60,
    });
    const res = await fetch(put, { method: "PUT", body: "hi", headers: { origin: APP } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), APP);
    assert.equal(res.headers.get("access-control-expose-headers"), "ETag");
    assert.ok(res.headers.get("etag"));
    const other = await fetch(put, {
      method: "PUT",
      body: "hi",
      headers: { origin: "https://evil.example.test" },
    });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    // Errors carry them too, so the page can read why.
    const denied = await fetch(`${url}/private.txt`, { headers: { origin: APP } });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get("access-control-allow-origin"), APP);
  });

  test("hostile configurations: malformed XML, no rules, bad method, two wildcards: 400, store keeps serving", async () => {
    const bodies: Array<[string, string]> = [
      ["<CORSConfiguration><CORSRule>", "MalformedXML"],
      ["<CORSConfiguration></CORSConfiguration>", "MalformedXML"],
      ["<Other/>", "MalformedXML"],
      [
        "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>",
        "InvalidRequest",
      ],
      [
        "<CORSConfiguration><CORSRule><AllowedOrigin>http://*.*.x</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
        "InvalidRequest",
      ],
      [
        "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
        "MalformedXML",
      ],
    ];
    const target = { endpoint: t.endpoint, region: "us-east-1", credentials: CREDENTIALS };
    for (const [body, code] of bodies) {
      const res = await signedRequest(target as never, { method: "PUT", path: "/nocors?cors", body });
      assert.equal(res.status, 400, body);
      assert.equal(res.code, code, body);
    }
    const got = await t.s3.send(new GetBucketCorsCommand({ Bucket: bucket }));
    assert.equal(got.CORSRules?.length, 2);
  });

  test("DeleteBucketCors removes it; a re-created bucket has none", async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: "cors-tmp" }));
    await t.s3.send(
      new PutBucketCorsCommand({
        Bucket: "cors-tmp",
        CORSConfiguration: { CORSRules: [{ AllowedOrigins: ["*"], AllowedMethods: ["GET"] }] },
      }),
    );
    await t.s3.send(new DeleteBucketCorsCommand({ Bucket: "cors-tmp" }));
    await expectS3Error(
      t.s3.send(new GetBucketCorsCommand({ Bucket: "cors-tmp" })),
      404,
      "NoSuchCORSConfiguration",
    );
    await t.s3.send(
      new PutBucketCorsCommand({
        Bucket: "cors-tmp",
        CORSConfiguration: { CORSRules: [{ AllowedOrigins: ["*"], AllowedMethods: ["GET"] }] },
      }),
    );
    await t.s3.send(new DeleteBucketCommand({ Bucket: "cors-tmp" }));
    await t.s3.send(new CreateBucketCommand({ Bucket: "cors-tmp" }));
    await expectS3Error(
      t.s3.send(new GetBucketCorsCommand({ Bucket: "cors-tmp" })),
      404,
      "NoSuchCORSConfiguration",
    );
  });
});
