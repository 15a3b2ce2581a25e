import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { describe, test } from "node:test";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SluiceError } from "@sluice/core";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { uriEncode } from "./encoding.ts";
import { randomKey, randomText } from "./test-support.ts";
import { type VerifyOptions, verifyRequest } from "./verify.ts";

type Incoming = VerifyOptions["request"];

// Requests are signed by the AWS SDK's own signer and verified by ours, so a
// canonicalisation bug cannot hide by being the same on both sides.

const REGION = "us-east-1";
interface Signed {
  request: Incoming;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

function toIncoming(signed: HttpRequest): Incoming {
  const headers = new Map(Object.entries(signed.headers).map(([name, value]) => [name.toLowerCase(), value]));
  const query: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(signed.query)) query.push([name, String(value)]);
  return {
    method: signed.method,
    rawPath: signed.path,
    query,
    header: (name) => headers.get(name),
    headerNames: [...headers.keys()],
  };
}

async function sdkSigned(options: {
  mode: "header" | "query";
  now: Date;
  expiresIn?: number;
  payloadHash?: string;
  headers?: Record<string, string>;
  key?: string;
  query?: Record<string, string>;
  method?: string;
}): Promise<Signed> {
  const credentials = {
    accessKeyId: `AK${randomBytes(6).toString("hex").toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString("base64"),
  };
  const signer = new SignatureV4({
    credentials,
    region: REGION,
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const key = options.key ?? randomKey(30);
  const request = new HttpRequest({
    method: options.method ?? "PUT",
    protocol: "http:",
    hostname: "127.0.0.1",
    port: 9000,
    path: `/bucket/${uriEncode(key, true)}`,
    query: options.query ?? {},
    headers: {
      host: "127.0.0.1:9000",
      // As @aws-sdk/s3-request-presigner does: presigned requests sign UNSIGNED-PAYLOAD.
      "x-amz-content-sha256":
        options.mode === "header" ? (options.payloadHash ?? "UNSIGNED-PAYLOAD") : "UNSIGNED-PAYLOAD",
      ...options.headers,
    },
  });
  const signed =
    options.mode === "header"
      ? ((await signer.sign(request, { signingDate: options.now })) as HttpRequest)
      : ((await signer.presign(request, {
          signingDate: options.now,
          expiresIn: options.expiresIn ?? 300,
          unhoistableHeaders: new Set(Object.keys(options.headers ?? {})),
        })) as HttpRequest);
  return { request: toIncoming(signed), credentials };
}

function verify(signed: Signed, overrides: { request?: Partial<Incoming>; now?: Date } = {}) {
  return verifyRequest({
    request: { ...signed.request, ...overrides.request },
    secretFor: (id) =>
      id === signed.credentials.accessKeyId ? signed.credentials.secretAccessKey : undefined,
    region: REGION,
    now: overrides.now ?? new Date(),
  });
}

function rejects(fn: () => unknown, code: string, status: number, message?: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SluiceError, `expected SluiceError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    if (message) assert.match(error.message, message);
    return true;
  });
}

const withHeader = (signed: Signed, name: string, value: string | undefined) => {
  const original = signed.request.header;
  return (lookup: string) => (lookup === name ? value : original(lookup));
};
const withQuery = (signed: Signed, name: string, value: string) =>
  signed.request.query.map(([n, v]): [string, string] => [n, n === name ? value : v]);

describe("verifyRequest against requests signed by @smithy/signature-v4", () => {
  test("accepts 300 random header-signed and presigned requests", async () => {
    for (let i = 0; i < 300; i++) {
      const mode = randomInt(2) === 0 ? "header" : "query";
      const now = new Date(Date.now() - randomInt(0, 14 * 60 * 1000));
      const headers: Record<string, string> = {};
      if (randomInt(2)) headers["content-type"] = `image/${randomText(1, 6).replace(/[^a-z]/gi, "x")}`;
      if (randomInt(2)) headers["content-length"] = String(randomInt(0, 2 ** 40));
      if (randomInt(2)) headers["if-none-match"] = "*";
      if (randomInt(2))
        headers["x-amz-meta-note"] = `  spaced   value ${randomText(0, 5).replace(/[^\x20-\x7e]/g, "x")} `;
      const query = randomInt(2)
        ? { partNumber: String(randomInt(1, 10_001)), uploadId: randomText(1, 20) }
        : undefined;
      const payloadHash = randomInt(2) ? randomBytes(32).toString("hex") : "UNSIGNED-PAYLOAD";
      const signed = await sdkSigned({
        mode,
        now,
        expiresIn: 3600,
        headers,
        payloadHash,
        ...(query ? { query } : {}),
        method: ["GET", "PUT", "HEAD", "DELETE", "POST"][randomInt(5)] as string,
      });
      const result = verify(signed);
      assert.equal(result.accessKeyId, signed.credentials.accessKeyId, `case ${i}`);
      assert.equal(result.via, mode);
      assert.deepEqual(
        result.payload,
        mode === "header" && payloadHash !== "UNSIGNED-PAYLOAD"
          ? { kind: "sha256", hex: payloadHash }
          : { kind: "unsigned" },
      );
    }
  });

  test("every signed element changed in turn: 403 SignatureDoesNotMatch", async () => {
    const now = new Date();
    for (const mode of ["header", "query"] as const) {
      const signed = await sdkSigned({
        mode,
        now,
        key: "dir/photo.png",
        headers: {
          "content-type": "image/png",
          "content-length": "100",
          "if-none-match": "*",
          "x-amz-checksum-sha256": randomBytes(32).toString("base64"),
        },
        query: { partNumber: "3", uploadId: "abc" },
      });
      verify(signed);
      const tampered: Array<Partial<Incoming>> = [
        { method: "GET" },
        { rawPath: "/bucket/dir/evil.png" },
        { rawPath: "/other/dir/photo.png" },
        { query: withQuery(signed, "partNumber", "4") },
        { query: [...signed.request.query, ["uploads", ""]] },
        { header: withHeader(signed, "content-type", "text/html") },
        { header: withHeader(signed, "content-length", "101") },
        { header: withHeader(signed, "if-none-match", undefined) },
        { header: withHeader(signed, "x-amz-checksum-sha256", randomBytes(32).toString("base64")) },
        { header: withHeader(signed, "host", "evil.example:9000") },
      ];
      if (mode === "query") {
        tampered.push({ query: withQuery(signed, "X-Amz-Expires", "301") });
        tampered.push({ query: withQuery(signed, "X-Amz-SignedHeaders", "host") });
        tampered.push({ query: withQuery(signed, "X-Amz-Signature", "0".repeat(64)) });
        const date = signed.request.query.find(([n]) => n === "X-Amz-Date")?.[1] as string;
        tampered.push({
          query: withQuery(
            signed,
            "X-Amz-Date",
            // Same day, other tens-of-seconds digit.
            `${date.slice(0, -3)}${date.at(-3) === "0" ? "1" : "0"}${date.slice(-2)}`,
          ),
        });
      } else {
        const auth = signed.request.header("authorization") as string;
        const flipped = auth.slice(0, -1) + (auth.endsWith("0") ? "1" : "0");
        tampered.push({ header: withHeader(signed, "authorization", flipped) });
        tampered.push({ header: withHeader(signed, "x-amz-content-sha256", "0".repeat(64)) });
      }
      for (const change of tampered)
        rejects(() => verify(signed, { request: change }), "SignatureDoesNotMatch", 403);
    }
  });

  test("an x-amz-* header the signer did not sign is refused (it could turn a PUT grant into a copy or make it public)", async () => {
    for (const mode of ["header", "query"] as const) {
      const signed = await sdkSigned({ mode, now: new Date(), headers: { "x-amz-meta-signed": "yes" } });
      verify(signed);
      for (const extra of ["x-amz-copy-source", "x-amz-acl", "x-amz-meta-other", "x-amz-tagging"]) {
        const headerNames = [...signed.request.headerNames, extra];
        rejects(
          () => verify(signed, { request: { headerNames, header: withHeader(signed, extra, "x") } }),
          "AccessDenied",
          403,
          /not signed/,
        );
      }
      // Not x-amz-: ignored, as S3 does (browsers and proxies add such headers).
      verify(signed, {
        request: { headerNames: [...signed.request.headerNames, "x-amzn-trace-id", "user-agent"] },
      });
    }
  });

  test("an unknown access key: 403 InvalidAccessKeyId; another known key's secret: mismatch", async () => {
    const signed = await sdkSigned({ mode: "query", now: new Date() });
    assert.throws(
      () => verifyRequest({ request: signed.request, secretFor: () => undefined, region: REGION }),
      (e: unknown) => e instanceof SluiceError && e.code === "InvalidAccessKeyId" && e.status === 403,
    );
    rejects(
      () => verifyRequest({ request: signed.request, secretFor: () => "another-secret", region: REGION }),
      "SignatureDoesNotMatch",
      403,
    );
  });

  test("expiry, future dates and clock skew", async () => {
    const now = new Date();
    const presigned = await sdkSigned({ mode: "query", now, expiresIn: 60 });
    verify(presigned, { now: new Date(now.getTime() + 59_000) });
    rejects(
      () => verify(presigned, { now: new Date(now.getTime() + 61_000) }),
      "AccessDenied",
      403,
      /Request has expired/,
    );
    rejects(
      () => verify(presigned, { now: new Date(now.getTime() - 16 * 60_000) }),
      "AccessDenied",
      403,
      /not valid yet/,
    );
    verify(presigned, { now: new Date(now.getTime() - 14 * 60_000) });

    const header = await sdkSigned({ mode: "header", now });
    verify(header, { now: new Date(now.getTime() + 14 * 60_000) });
    rejects(
      () => verify(header, { now: new Date(now.getTime() + 16 * 60_000) }),
      "RequestTimeTooSkewed",
      403,
    );
    rejects(
      () => verify(header, { now: new Date(now.getTime() - 16 * 60_000) }),
      "RequestTimeTooSkewed",
      403,
    );

    const week = await sdkSigned({ mode: "query", now, expiresIn: 604_800 });
    verify(week, { now: new Date(now.getTime() + 604_799_000) });
    for (const expires of ["604801", "-1", "1e3", ""]) {
      rejects(
        () => verify(week, { request: { query: withQuery(week, "X-Amz-Expires", expires) } }),
        "AuthorizationQueryParametersError",
        400,
      );
    }
    // As S3: X-Amz-Expires=0 is well-formed and already expired.
    rejects(
      () => verify(week, { request: { query: withQuery(week, "X-Amz-Expires", "0") } }),
      "AccessDenied",
      403,
    );
  });

  test("malformed Authorization headers and credentials are 4xx SluiceErrors, never crashes", async () => {
    const signed = await sdkSigned({ mode: "header", now: new Date() });
    const auth = signed.request.header("authorization") as string;
    const credential = /Credential=([^,]+)/.exec(auth)?.[1] as string;
    const variants = [
      "AWS4-HMAC-SHA256 ",
      "AWS4-HMAC-SHA256 garbage",
      "AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=00",
      auth.replace("SignedHeaders=", "SignedHeaderz="),
      auth.replace(credential, credential.replace("/s3/", "/ec2/")),
      auth.replace(credential, credential.replace(`/${REGION}/`, "/eu-west-1/")),
      auth.replace(credential, credential.replace(/\/\d{8}\//, "/20200101/")),
      auth.replace(credential, credential.replace("aws4_request", "aws5_request")),
      auth.replace(/SignedHeaders=[^,]+/, "SignedHeaders=content-type;x-amz-date"),
      auth.replace(/SignedHeaders=[^,]+/, "SignedHeaders=HOST;x-amz-date"),
      `${auth}, Extra=1`,
    ];
    for (const value of variants) {
      assert.throws(
        () => verify(signed, { request: { header: withHeader(signed, "authorization", value) } }),
        (e: unknown) => e instanceof SluiceError && e.status >= 400 && e.status < 500,
        value,
      );
    }
    rejects(
      () => verify(signed, { request: { header: withHeader(signed, "x-amz-date", undefined) } }),
      "AccessDenied",
      403,
    );
    rejects(
      () => verify(signed, { request: { header: withHeader(signed, "x-amz-date", "yesterday") } }),
      "AccessDenied",
      403,
    );
    rejects(
      () => verify(signed, { request: { header: withHeader(signed, "x-amz-content-sha256", undefined) } }),
      "InvalidRequest",
      400,
    );
    rejects(() => verify(signed, { request: { rawPath: "/bucket/%E0%A4%A" } }), "InvalidURI", 400);
  });
});
