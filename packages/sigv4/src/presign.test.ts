import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { describe, test } from "node:test";
import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import {
  createPresignedPost,
  deriveSigningKey,
  hmacSha256,
  objectUrl,
  presignUrl,
  signHeaders,
  uriEncode,
} from "./index.ts";
import { randomCredentials, randomKey, randomText } from "./test-support.ts";

// Cross-checks against the AWS SDK's own signer on random inputs, so a bug
// cannot hide by being the same in our signer and our verifier.

function sdkSigner(credentials: ReturnType<typeof randomCredentials>, region: string) {
  return new SignatureV4({
    credentials,
    region,
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
}

function sdkRequest(url: string, method: string, headers: Record<string, string>) {
  const parsed = new URL(url);
  const query: Record<string, string> = {};
  for (const [k, v] of parsed.searchParams) query[k] = v;
  // With uriEscapePath: false the SDK signs the path as given: already encoded, as S3 signs it.
  const rawPath = url.slice(parsed.origin.length).split("?")[0]!;
  return new HttpRequest({
    method,
    protocol: parsed.protocol,
    hostname: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : undefined,
    path: rawPath,
    query,
    headers: { host: parsed.host, ...headers },
  });
}

describe("sigv4 signer against @smithy/signature-v4", () => {
  test("uriEncode encodes every byte but the unreserved set, like S3", () => {
    assert.equal(uriEncode("a b+c!*'()~._-/é"), "a%20b%2Bc%21%2A%27%28%29~._-%2F%C3%A9");
    assert.equal(uriEncode("dir/a b", true), "dir/a%20b");
  });

  test("presigned URLs match the SDK's on 300 random requests", async () => {
    for (let i = 0; i < 300; i++) {
      const credentials = randomCredentials();
      const region = ["us-east-1", "eu-west-3", "auto"][randomInt(3)]!;
      const key = randomKey(40);
      const url = new URL(
        objectUrl({ endpoint: `http://127.0.0.1:${randomInt(1024, 65535)}`, bucket: "bkt", key }),
      );
      const extraQuery =
        randomInt(2) === 0 ? { partNumber: String(randomInt(1, 10_000)), uploadId: randomText(1, 12) } : {};
      let urlString = url.href;
      for (const [k, v] of Object.entries(extraQuery))
        urlString += `${urlString.includes("?") ? "&" : "?"}${uriEncode(k)}=${uriEncode(v)}`;
      const headers: Record<string, string> = {};
      if (randomInt(2) === 0) headers["content-length"] = String(randomInt(0, 2 ** 40));
      if (randomInt(2) === 0) headers["content-type"] = `image/${randomText(1, 8).replace(/[^a-z]/g, "x")}`;
      if (randomInt(2) === 0) headers["if-none-match"] = "*";
      if (randomInt(2) === 0) headers["x-amz-checksum-sha256"] = randomBytes(32).toString("base64");
      const method = ["GET", "PUT", "HEAD", "DELETE"][randomInt(4)]!;
      const expiresIn = randomInt(1, 604_801);
      const now = new Date(
        Date.UTC(2026, randomInt(12), randomInt(1, 28), randomInt(24), randomInt(60), randomInt(60)),
      );

      const ours = new URL(
        presignUrl({ method, url: urlString, credentials, region, expiresIn, headers, now }),
      );
      // As @aws-sdk/s3-request-presigner does: the payload is UNSIGNED-PAYLOAD, named by a header that is not signed.
      const request = sdkRequest(urlString, method, {
        ...headers,
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
      });
      const theirs = await sdkSigner(credentials, region).presign(request, {
        expiresIn,
        signingDate: now,
        unsignableHeaders: new Set(["x-amz-content-sha256"]),
        unhoistableHeaders: new Set([...Object.keys(headers), "x-amz-content-sha256"]),
      });
      assert.equal(
        ours.searchParams.get("X-Amz-Signature"),
        theirs.query?.["X-Amz-Signature"],
        `case ${i}: ${method} ${urlString} ${JSON.stringify(headers)}`,
      );
      assert.equal(ours.searchParams.get("X-Amz-SignedHeaders"), theirs.query?.["X-Amz-SignedHeaders"]);
    }
  });

  test("header signatures match the SDK's on 200 random requests", async () => {
    for (let i = 0; i < 200; i++) {
      const credentials = randomCredentials();
      const key = randomKey(30);
      const url = objectUrl({ endpoint: "http://localhost:9000", bucket: "b", key });
      const payloadHash = randomInt(2) === 0 ? "UNSIGNED-PAYLOAD" : randomBytes(32).toString("hex");
      const headers = {
        "content-type": "text/plain",
        "x-amz-meta-note": `  ${randomText(0, 10).replace(/[^\x20-\x7e]/g, "")}  `,
      };
      const now = new Date(Date.UTC(2026, 10, randomInt(1, 28), randomInt(24)));
      const ours = signHeaders({
        method: "PUT",
        url,
        headers,
        payloadHash,
        credentials,
        region: "us-east-1",
        now,
      });
      const request = sdkRequest(url, "PUT", { ...headers, "x-amz-content-sha256": payloadHash });
      const theirs = await sdkSigner(credentials, "us-east-1").sign(request, { signingDate: now });
      assert.equal(ours.authorization, theirs.headers.authorization, `case ${i}: ${url}`);
    }
  });

  test("a POST policy is signed with the day's derived key over its base64", () => {
    const credentials = randomCredentials();
    const now = new Date("2026-11-24T10:00:00Z");
    const post = createPresignedPost({
      url: "http://127.0.0.1:9000/uploads",
      key: "t/u/1/photo.png",
      credentials,
      region: "us-east-1",
      expiresIn: 600,
      fields: { "Content-Type": "image/png", success_action_status: "201" },
      conditions: [["content-length-range", 1, 1024]],
      now,
    });
    const policy = JSON.parse(Buffer.from(post.fields.Policy!, "base64").toString("utf8"));
    assert.equal(policy.expiration, "2026-11-24T10:10:00.000Z");
    assert.deepEqual(policy.conditions[0], { bucket: "uploads" });
    assert.ok(policy.conditions.some((c: unknown) => JSON.stringify(c) === '{"key":"t/u/1/photo.png"}'));
    assert.ok(
      policy.conditions.some((c: unknown) => JSON.stringify(c) === '["content-length-range",1,1024]'),
    );
    const signingKey = deriveSigningKey({
      secretAccessKey: credentials.secretAccessKey,
      date: "20261124",
      region: "us-east-1",
      service: "s3",
    });
    assert.equal(post.fields["X-Amz-Signature"], hmacSha256(signingKey, post.fields.Policy!).toString("hex"));
  });

  test("expiry outside 1 s .. 7 days is refused", () => {
    const credentials = randomCredentials();
    for (const expiresIn of [0, -1, 604_801, 1.5]) {
      assert.throws(
        () => presignUrl({ method: "GET", url: "http://h/b/k", credentials, region: "us-east-1", expiresIn }),
        RangeError,
      );
    }
  });

  test("dot segments in keys survive into the signed URL", () => {
    const url = objectUrl({ endpoint: "http://h:1", bucket: "b", key: "a/../b/./c//d" });
    const signed = presignUrl({
      method: "GET",
      url,
      credentials: randomCredentials(),
      region: "us-east-1",
      expiresIn: 60,
    });
    assert.ok(signed.startsWith("http://h:1/b/a/../b/./c//d?"), signed);
  });
});
