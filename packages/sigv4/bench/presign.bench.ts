// Presigned PUT URLs per second: the broker signs one on every grant.
// Candidates sign the same request (content-length, content-type and
// if-none-match signed); baseline: the AWS SDK presigner.
import { createHash, createHmac } from "node:crypto";
import { Sha256 } from "@aws-crypto/sha256-js";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { opsPerSecond, printTable } from "@sluice/core/bench";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { AwsV4Signer } from "aws4fetch";
import { objectUrl, presignUrl } from "../src/index.ts";

/** The SDK's Checksum interface over node:crypto (what @smithy/hash-node does). */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): string | Uint8Array =>
  typeof data === "string"
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

class NodeSha256 {
  private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh() {
    return this.secret ? createHmac("sha256", bytes(this.secret)) : createHash("sha256");
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export default async function presignBench(): Promise<void> {
  const credentials = {
    accessKeyId: "AKIDBENCHMARK0000001",
    secretAccessKey: "benchmark/secret/key/0000000000000000000",
  };
  const region = "us-east-1";
  const endpoint = "http://127.0.0.1:9000";
  const key = "tenant/user/01HZX3/report (final).pdf";
  const url = objectUrl({ endpoint, bucket: "sluice", key });
  const headers = { "content-length": "1048576", "content-type": "application/pdf", "if-none-match": "*" };

  const client = new S3Client({
    endpoint,
    region,
    credentials,
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
  });
  const sdkPresigner = () =>
    getSignedUrl(
      client,
      new PutObjectCommand({
        Bucket: "sluice",
        Key: key,
        ContentLength: 1048576,
        ContentType: "application/pdf",
        IfNoneMatch: "*",
      }),
      { expiresIn: 900, signableHeaders: new Set(["content-type", "content-length", "if-none-match"]) },
    );
  const smithy = new SignatureV4({
    credentials,
    region,
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const smithyNode = new SignatureV4({
    credentials,
    region,
    service: "s3",
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const parsed = new URL(url);
  const smithyRequest = () =>
    new HttpRequest({
      method: "PUT",
      protocol: "http:",
      hostname: parsed.hostname,
      port: Number(parsed.port),
      path: parsed.pathname,
      headers: { host: parsed.host, ...headers, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    });
  const smithyOptions = {
    expiresIn: 900,
    unsignableHeaders: new Set(["x-amz-content-sha256"]),
    unhoistableHeaders: new Set(["x-amz-content-sha256"]),
  };
  const aws4fetch = () =>
    new AwsV4Signer({
      url,
      method: "PUT",
      headers,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      region,
      service: "s3",
      signQuery: true,
    }).sign();
  const ours = () => presignUrl({ method: "PUT", url, credentials, region, expiresIn: 900, headers });

  const rows = [];
  for (const [name, fn] of [
    ["@aws-sdk/s3-request-presigner", sdkPresigner],
    ["@smithy/signature-v4 (sha256-js)", () => smithy.presign(smithyRequest(), smithyOptions)],
    ["@smithy/signature-v4 (node hash)", () => smithyNode.presign(smithyRequest(), smithyOptions)],
    ["aws4fetch", aws4fetch],
    ["@sluice/sigv4 presignUrl", ours],
  ] as const) {
    rows.push({ name, value: await opsPerSecond(fn, 1500) });
  }
  printTable({
    title: "Presigned PUT URLs per second (one core)",
    unit: "URLs/s",
    baseline: "@aws-sdk/s3-request-presigner",
    rows,
  });
}
