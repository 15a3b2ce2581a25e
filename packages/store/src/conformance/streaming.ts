import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { before, describe, test } from "node:test";
import { crc32 } from "node:zlib";
import { GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { AwsChunkedEncoder, credentialScope, deriveSigningKey, objectUrl, signHeaders } from "@sluice/sigv4";
import { type RawResponse, rawRequest } from "./http.ts";
import { expectS3Error, md5Hex } from "./objects.ts";
import { type ConformanceTarget, withBucket } from "./target.ts";

type Mode =
  | "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
  | "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
  | "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

function crc32Base64(data: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0);
  return out.toString("base64");
}

/**
 * A PUT with an aws-chunked body, signed as the AWS SDKs do: the seed
 * signature in the Authorization header, each chunk chained from it.
 * `corrupt` changes the encoded body after signing.
 */
async function chunkedPut(options: {
  target: ConformanceTarget;
  bucket: string;
  key: string;
  data: Buffer;
  mode: Mode;
  checksum?: string;
  decodedLength?: number;
  /** Content-Encoding as sent (default "aws-chunked"). */
  contentEncoding?: string;
  corrupt?: (encoded: Buffer) => Buffer;
}): Promise<RawResponse> {
  const { target, mode } = options;
  const url = objectUrl({ endpoint: target.endpoint, bucket: options.bucket, key: options.key });
  const trailer = mode.endsWith("TRAILER");
  const headers = signHeaders({
    method: "PUT",
    url,
    payloadHash: mode,
    headers: {
      "content-encoding": options.contentEncoding ?? "aws-chunked",
      "x-amz-decoded-content-length": String(options.decodedLength ?? options.data.length),
      ...(trailer ? { "x-amz-trailer": "x-amz-checksum-crc32" } : {}),
    },
    credentials: target.credentials,
    region: target.region,
  });
  const dateTime = headers["x-amz-date"] as string;
  const seed = /Signature=([0-9a-f]{64})/.exec(headers.authorization as string)?.[1] as string;
  const signing = mode.startsWith("STREAMING-AWS4")
    ? {
        signature: seed,
        dateTime,
        scope: credentialScope(dateTime.slice(0, 8), target.region, "s3"),
        signingKey: deriveSigningKey({
          secretAccessKey: target.credentials.secretAccessKey,
          date: dateTime.slice(0, 8),
          region: target.region,
          service: "s3",
        }),
      }
    : undefined;
  const encoder = new AwsChunkedEncoder({
    chunkSize: 64 * 1024,
    ...(signing ? { signing } : {}),
    ...(trailer
      ? { trailers: () => [["x-amz-checksum-crc32", options.checksum ?? crc32Base64(options.data)]] }
      : {}),
  });
  const parts: Buffer[] = [];
  await pipeline(Readable.from([options.data]), encoder, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) parts.push(chunk);
  });
  const encoded = options.corrupt ? options.corrupt(Buffer.concat(parts)) : Buffer.concat(parts);
  return rawRequest({
    url,
    method: "PUT",
    headers: { ...headers, "content-length": String(encoded.length) },
    body: encoded,
  });
}

export function streamingConformance(getTarget: () => ConformanceTarget): void {
  describe("aws-chunked request bodies", () => {
    let target: ConformanceTarget;
    let s3: S3Client;
    let bucket: string;
    before(async () => {
      ({ target, s3, bucket } = await withBucket(getTarget(), "streaming"));
    });

    test("STREAMING-AWS4-HMAC-SHA256-PAYLOAD: chained chunk signatures accepted, body stored decoded", async () => {
      const data = randomBytes(200_000);
      const res = await chunkedPut({
        target,
        bucket,
        key: "signed.bin",
        data,
        mode: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
      });
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(res.headers.etag, `"${md5Hex(data)}"`);
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "signed.bin" }));
      assert.equal(
        md5Hex(
          Buffer.from(
            await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
          ),
        ),
        md5Hex(data),
      );
    });

    test("Content-Encoding lists: aws-chunked is dropped, the rest kept byte for byte as sent", async (t) => {
      if (target.kind === "rgw")
        return t.skip("Ceph RGW 16 stores the list with aws-chunked in it: ours only");
      for (const [sent, stored] of [
        ["aws-chunked, gzip", "gzip"],
        ["deflate, gzip, aws-chunked", "deflate, gzip"],
        ["gzip,aws-chunked,br", "gzip,br"],
      ]) {
        const key = `encoding-${stored}.bin`;
        const res = await chunkedPut({
          target,
          bucket,
          key,
          data: randomBytes(1000),
          mode: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
          contentEncoding: sent,
        });
        assert.equal(res.status, 200, res.body.toString());
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        assert.equal(head.ContentEncoding, stored, sent);
      }
    });

    test("a byte changed in a signed chunk: 403 SignatureDoesNotMatch and nothing stored", async () => {
      const data = randomBytes(200_000);
      const res = await chunkedPut({
        target,
        bucket,
        key: "tampered.bin",
        data,
        mode: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        corrupt: (encoded) => {
          const copy = Buffer.from(encoded);
          copy[100_000] = (copy[100_000] as number) ^ 0xff;
          return copy;
        },
      });
      assert.deepEqual([res.status, res.code], [403, "SignatureDoesNotMatch"]);
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "tampered.bin" })), 404);
    });

    test("x-amz-decoded-content-length that does not match the chunks: 4xx and nothing stored", async () => {
      const data = randomBytes(1000);
      const res = await chunkedPut({
        target,
        bucket,
        key: "short.bin",
        data,
        mode: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        decodedLength: 999,
      });
      assert.ok(res.status >= 400 && res.status < 500, `HTTP ${res.status} ${res.code}`);
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "short.bin" })), 404);
    });

    test("checksum trailers: verified (BadDigest when wrong), signed trailer checked", async (t) => {
      if (target.kind === "rgw")
        return t.skip("Ceph RGW 16 does not support aws-chunked trailers (flexible checksums): ours only");
      const data = randomBytes(100_000);
      for (const mode of [
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
      ] as const) {
        const ok = await chunkedPut({ target, bucket, key: `trailer-${mode}`, data, mode });
        assert.equal(ok.status, 200, `${mode}: ${ok.body.toString()}`);
        const head = await s3.send(
          new HeadObjectCommand({ Bucket: bucket, Key: `trailer-${mode}`, ChecksumMode: "ENABLED" }),
        );
        assert.equal(head.ChecksumCRC32, crc32Base64(data));
        const wrong = await chunkedPut({
          target,
          bucket,
          key: `wrong-${mode}`,
          data,
          mode,
          checksum: crc32Base64(Buffer.from("other")),
        });
        assert.deepEqual([wrong.status, wrong.code], [400, "BadDigest"], mode);
        await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `wrong-${mode}` })), 404);
      }
      const forged = await chunkedPut({
        target,
        bucket,
        key: "forged-trailer",
        data,
        mode: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        corrupt: (encoded) =>
          Buffer.from(
            encoded
              .toString("latin1")
              .replace(
                /x-amz-checksum-crc32:[^\r]+/,
                `x-amz-checksum-crc32:${crc32Base64(Buffer.from("x"))}`,
              ),
            "latin1",
          ),
      });
      assert.deepEqual([forged.status, forged.code], [403, "SignatureDoesNotMatch"]);
    });
  });
}
