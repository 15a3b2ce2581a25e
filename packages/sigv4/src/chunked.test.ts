import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, test } from "node:test";
import { SluiceError } from "@sluice/core";
import { AwsChunkedDecoder, type AwsChunkedOptions } from "./chunked.ts";
import { AwsChunkedEncoder, type AwsChunkedEncoderOptions } from "./chunked-encode.ts";
import { type SigningContext, verifyRequest } from "./verify.ts";

// The worked example of AWS's "Transferring Payload in Multiple Chunks"
// (SigV4 streaming, S3 API reference): 66560 bytes of "a" in chunks of 64 KiB
// and 1 KiB, signed with the documentation's example key.
const EXAMPLE = {
  secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  headers: new Map([
    ["host", "s3.amazonaws.com"],
    ["x-amz-date", "20130524T000000Z"],
    ["x-amz-storage-class", "REDUCED_REDUNDANCY"],
    [
      "authorization",
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    ],
    ["x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"],
    ["content-encoding", "aws-chunked"],
    ["x-amz-decoded-content-length", "66560"],
    ["content-length", "66824"],
  ]),
  body: Buffer.concat([
    Buffer.from("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"),
    Buffer.alloc(65536, "a"),
    Buffer.from(
      "\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
    ),
    Buffer.alloc(1024, "a"),
    Buffer.from(
      "\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n",
    ),
  ]),
};

function exampleSigning(): SigningContext {
  const verified = verifyRequest({
    request: {
      method: "PUT",
      rawPath: "/examplebucket/chunkObject.txt",
      query: [],
      header: (name) => EXAMPLE.headers.get(name),
      headerNames: [...EXAMPLE.headers.keys()],
    },
    secretFor: (id) => (id === "AKIAIOSFODNN7EXAMPLE" ? EXAMPLE.secret : undefined),
    region: "us-east-1",
    now: new Date("2013-05-24T00:05:00Z"),
  });
  assert.deepEqual(verified.payload, { kind: "streaming", signedChunks: true, trailer: false });
  return verified.signing;
}

/** Feeds the body in random slices, so every parser state is split across writes. */
function randomSlices(body: Buffer): Readable {
  const slices: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const size = Math.min(randomInt(1, 5000), body.length - at);
    slices.push(body.subarray(at, at + size));
    at += size;
  }
  return Readable.from(slices);
}

async function decode(
  body: Buffer,
  options: AwsChunkedOptions,
): Promise<{ data: Buffer; decoder: AwsChunkedDecoder }> {
  const decoder = new AwsChunkedDecoder(options);
  const out: Buffer[] = [];
  await pipeline(randomSlices(body), decoder, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return { data: Buffer.concat(out), decoder };
}

async function rejectsWith(promise: Promise<unknown>, code: string) {
  await assert.rejects(promise, (error: unknown) => error instanceof SluiceError && error.code === code);
}

async function encode(data: Buffer[], options: AwsChunkedEncoderOptions): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(data),
    new AwsChunkedEncoder(options),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) out.push(chunk);
    },
  );
  return Buffer.concat(out);
}

describe("aws-chunked decoding (AwsChunkedDecoder)", () => {
  test("decodes AWS's documented STREAMING-AWS4-HMAC-SHA256-PAYLOAD example, checking every chunk signature", async () => {
    const signing = exampleSigning();
    assert.equal(signing.signature, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    const { data } = await decode(EXAMPLE.body, {
      signing,
      trailer: false,
      declaredTrailers: [],
      decodedLength: 66560,
    });
    assert.deepEqual(data, Buffer.alloc(66560, "a"));
  });

  test("the encoder reproduces AWS's documented example byte for byte", async () => {
    const body = await encode([Buffer.alloc(66560, "a")], { signing: exampleSigning(), chunkSize: 65536 });
    assert.deepEqual(body, EXAMPLE.body);
  });

  test("a changed byte, a dropped chunk or a wrong length is refused", async () => {
    const signing = exampleSigning();
    const options = { signing, trailer: false, declaredTrailers: [], decodedLength: 66560 };
    const flipped = Buffer.from(EXAMPLE.body);
    flipped[200] = "b".charCodeAt(0);
    await rejectsWith(decode(flipped, options), "SignatureDoesNotMatch");
    const reordered = Buffer.from(
      EXAMPLE.body.toString("latin1").replace("chunk-signature=0055", "chunk-signature=0056"),
      "latin1",
    );
    await rejectsWith(decode(reordered, options), "SignatureDoesNotMatch");
    await rejectsWith(decode(EXAMPLE.body.subarray(0, 60000), options), "IncompleteBody");
    await rejectsWith(decode(EXAMPLE.body, { ...options, decodedLength: 66559 }), "IncompleteBody");
    await rejectsWith(decode(EXAMPLE.body, { ...options, decodedLength: 66561 }), "IncompleteBody");
    await rejectsWith(decode(Buffer.concat([EXAMPLE.body, Buffer.from("x")]), options), "IncompleteBody");
    await rejectsWith(
      decode(EXAMPLE.body, { ...options, signing: { ...signing, signature: "0".repeat(64) } }),
      "SignatureDoesNotMatch",
    );
  });

  test("STREAMING-UNSIGNED-PAYLOAD-TRAILER: random bodies and slicing, trailers collected", async () => {
    for (let i = 0; i < 50; i++) {
      const chunks = Array.from({ length: randomInt(0, 5) }, () => randomBytes(randomInt(1, 9000)));
      const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      const value = randomBytes(4).toString("base64");
      const body = Buffer.concat([
        ...chunks.flatMap((chunk) => [
          Buffer.from(`${chunk.length.toString(16)}\r\n`),
          chunk,
          Buffer.from("\r\n"),
        ]),
        Buffer.from(`0\r\nx-amz-checksum-crc32:${value}\r\n\r\n`),
      ]);
      const { data, decoder } = await decode(body, {
        trailer: true,
        declaredTrailers: ["x-amz-checksum-crc32"],
        decodedLength: total,
      });
      assert.deepEqual(data, Buffer.concat(chunks));
      assert.equal(decoder.trailers.get("x-amz-checksum-crc32"), value);
    }
  });

  test("trailers must be exactly the declared ones", async () => {
    const body = (trailer: string) => Buffer.from(`3\r\nabc\r\n0\r\n${trailer}\r\n`);
    const options = { trailer: true, declaredTrailers: ["x-amz-checksum-crc32"], decodedLength: 3 };
    await rejectsWith(decode(body(""), options), "IncompleteBody");
    await rejectsWith(decode(body("x-amz-checksum-sha256:AAAA\r\n"), options), "IncompleteBody");
    await rejectsWith(
      decode(body("x-amz-checksum-crc32:AAAA\r\nx-amz-checksum-crc32:AAAA\r\n"), options),
      "IncompleteBody",
    );
    await rejectsWith(decode(body("no colon\r\n"), options), "IncompleteBody");
  });

  test("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: trailer signature chained after the last chunk", async () => {
    const signing = exampleSigning();
    const chunks = [randomBytes(1000), randomBytes(10)];
    const trailers: Array<[string, string]> = [["x-amz-checksum-crc32c", "sOO8/Q=="]];
    const body = await encode(chunks, { signing, chunkSize: 700, trailers: () => trailers });
    const options = {
      signing,
      trailer: true,
      declaredTrailers: ["x-amz-checksum-crc32c"],
      decodedLength: 1010,
    };
    const { data, decoder } = await decode(body, options);
    assert.deepEqual(data, Buffer.concat(chunks));
    assert.equal(decoder.trailers.get("x-amz-checksum-crc32c"), "sOO8/Q==");
    const forged = Buffer.from(body.toString("latin1").replace("sOO8/Q==", "AAAAAA=="), "latin1");
    await rejectsWith(decode(forged, options), "SignatureDoesNotMatch");
  });

  test("hostile framing: bad sizes, long lines, missing CRLF", async () => {
    const options = { trailer: true, declaredTrailers: ["x-amz-checksum-crc32"], decodedLength: 3 };
    for (const body of [
      "zz\r\nabc\r\n0\r\n\r\n",
      `${"1".repeat(5000)}\r\n`,
      "3\nabc\r\n",
      "3\r\nabcd\r\n0\r\n\r\n",
      "fffffffffffffff\r\n",
      "-3\r\nabc",
    ]) {
      await rejectsWith(decode(Buffer.from(body), options), "IncompleteBody");
    }
  });
});
