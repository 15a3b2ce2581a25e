import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { type RunningStore, startStore } from "../server.ts";
import { md5Base64, signedRequest } from "./http.ts";
import { type ConformanceTarget, withBucket } from "./target.ts";

const run = promisify(execFile);

interface Exchange {
  status: number;
  code: string;
  head: string;
  /** The server closed with a FIN after its answer (not a reset, not left open). */
  closedCleanly: boolean;
}

/** Sends bytes on a raw node:net socket and reads until the server closes (or `waitMs` passes). */
export function exchange(
  endpoint: string,
  send: Array<string | Buffer>,
  options: { waitMs?: number; gapMs?: number } = {},
): Promise<Exchange> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let reset = false;
    const timer = setTimeout(() => socket.destroy(), options.waitMs ?? 10_000);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNRESET" || error.code === "EPIPE") reset = true;
      else reject(error);
    });
    let ended = false;
    socket.on("end", () => {
      ended = true;
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const [head = ""] = text.split("\r\n\r\n");
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
        code: /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? "-",
        head,
        closedCleanly: ended && !reset,
      });
    });
    socket.on("connect", async () => {
      for (const part of send) {
        socket.write(part);
        if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      }
    });
  });
}

/**
 * HTTP framing as real clients and broken ones send it, over raw node:net
 * sockets and curl: malformed requests get an S3 XML 400 and a clean close,
 * an unknown Expect is ignored, oversized XML bodies are read and refused,
 * Transfer-Encoding: chunked PUTs without a length are stored whole.
 */
export function framingConformance(getTarget: () => ConformanceTarget): void {
  describe("HTTP framing (raw sockets, curl)", () => {
    let target: ConformanceTarget;
    let s3: S3Client;
    let bucket: string;
    let host: string;
    before(async () => {
      ({ target, s3, bucket } = await withBucket(getTarget(), "framing"));
      host = new URL(target.endpoint).host;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "hello.txt", Body: "hello" }));
    });
    const put = (headers: string) =>
      `PUT /${bucket}/framed.bin HTTP/1.1\r\nHost: ${host}\r\n${headers}\r\n\r\n`;

    test("negative, non-numeric and doubled Content-Length, or Content-Length with Transfer-Encoding: 400 and a clean close", async () => {
      for (const headers of [
        "Content-Length: -1",
        "Content-Length: abc",
        "Content-Length: 5\r\nTransfer-Encoding: chunked",
      ]) {
        const res = await exchange(target.endpoint, [put(headers), "hello"]);
        assert.equal(res.status, 400, `${headers}: ${res.head}`);
        assert.ok(res.closedCleanly, `${headers}: closed cleanly`);
        if (target.kind === "sluice") assert.equal(res.code, "InvalidArgument", headers);
      }
    });

    test("a header section over 8 KB is 400 RequestHeaderSectionTooLarge; so are 400 headers", async (t) => {
      if (target.kind === "rgw")
        return t.skip("Ceph RGW 16 (beast) accepts header sections of 16 KB and more: ours only");
      const big = await exchange(target.endpoint, [
        `GET /${bucket}/hello.txt HTTP/1.1\r\nHost: ${host}\r\nx-pad: ${"p".repeat(9000)}\r\n\r\n`,
      ]);
      assert.deepEqual(
        [big.status, big.code, big.closedCleanly],
        [400, "RequestHeaderSectionTooLarge", true],
      );
      const many = Array.from({ length: 400 }, (_, i) => `x-h${i}: v`).join("\r\n");
      const counted = await exchange(target.endpoint, [
        `GET /${bucket}/hello.txt HTTP/1.1\r\nHost: ${host}\r\n${many}\r\nConnection: close\r\n\r\n`,
      ]);
      assert.deepEqual([counted.status, counted.code], [400, "RequestHeaderSectionTooLarge"]);
    });

    test("an Expect other than 100-continue is ignored (no 417)", async () => {
      const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: "hello.txt" }), {
        expiresIn: 60,
      });
      const { pathname, search } = new URL(url);
      const res = await exchange(target.endpoint, [
        `GET ${pathname}${search} HTTP/1.1\r\nHost: ${host}\r\nExpect: something-else\r\nConnection: close\r\n\r\n`,
      ]);
      assert.equal(res.status, 200, res.head);
    });

    test("10 MB XML bodies on DeleteObjects, PutBucketCors and Complete are read to the end and answered 400", async () => {
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: "big-xml" }),
      );
      const filler = "<Object><Key>k</Key></Object>".repeat(Math.ceil((10 * 1024 * 1024) / 29));
      for (const [method, path, body] of [
        ["POST", `/${bucket}?delete`, `<Delete>${filler}</Delete>`],
        ["PUT", `/${bucket}?cors`, `<CORSConfiguration>${filler}</CORSConfiguration>`],
        [
          "POST",
          `/${bucket}/big-xml?uploadId=${encodeURIComponent(UploadId as string)}`,
          `<CompleteMultipartUpload>${filler}</CompleteMultipartUpload>`,
        ],
      ] as const) {
        // rawRequest rejects on EPIPE / ECONNRESET: the whole body had to be taken.
        const res = await signedRequest(target, {
          method,
          path,
          body,
          headers: { "content-md5": md5Base64(body) },
        });
        const about = `${method} ${path}: ${res.body.toString().slice(0, 300)}`;
        // RGW 16 answers DeleteObjects with 416 InvalidRange.
        if (target.kind === "rgw") assert.ok(res.status >= 400 && res.status < 500, about);
        else assert.deepEqual([res.status, res.code], [400, "MaxMessageLengthExceeded"], about);
      }
    });

    test("XML with a DOCTYPE or ENTITY declaration is 400 MalformedXML", async (t) => {
      if (target.kind === "rgw") return t.skip("Ceph RGW 16 expands internal entities: ours only");
      const body =
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "k">]><Delete><Object><Key>&x;</Key></Object></Delete>';
      const res = await signedRequest(target, { method: "POST", path: `/${bucket}?delete`, body });
      assert.deepEqual([res.status, res.code], [400, "MalformedXML"]);
    });

    test("curl -T - (Transfer-Encoding: chunked, no Content-Length) to a presigned PUT stores the whole body", async (t) => {
      if (target.kind === "rgw")
        return t.skip("Ceph RGW 16 answers a presigned chunked PUT 411 Length Required: ours only");
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: "curl-chunked.bin" }), {
        expiresIn: 60,
      });
      const body = "chunk ".repeat(100_000);
      const child = run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T", "-", url]);
      child.child.stdin?.end(body);
      const { stdout } = await child;
      assert.equal(stdout, "200");
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "curl-chunked.bin" }));
      assert.equal(await got.Body?.transformToString(), body);
    });

    describe("limits of the embedded store (a store of its own, short timeouts)", () => {
      let store: RunningStore | undefined;
      let dir: string;
      before(async () => {
        if (target.kind !== "sluice") return;
        dir = await mkdtemp(join(tmpdir(), "sluice-framing-"));
        store = await startStore({
          dataDir: dir,
          credentials: [target.credentials],
          bodyTimeoutMs: 500,
          maxObjectSize: 1024,
        });
        await signedRequest({ ...target, endpoint: store.endpoint }, { method: "PUT", path: `/${bucket}` });
      });
      after(async () => {
        await store?.close();
        if (dir) await rm(dir, { recursive: true, force: true });
      });

      test("a body shorter than its Content-Length: 400 RequestTimeout once it stalls, then a clean close", async (t) => {
        if (!store) return t.skip("RGW's idle timeout is minutes long: ours only");
        const url = await getSignedUrl(
          target.client({ endpoint: store.endpoint }),
          new PutObjectCommand({ Bucket: bucket, Key: "short.bin" }),
          { expiresIn: 60 },
        );
        const { pathname, search } = new URL(url);
        const res = await exchange(store.endpoint, [
          `PUT ${pathname}${search} HTTP/1.1\r\nHost: ${new URL(store.endpoint).host}\r\nContent-Length: 100\r\n\r\n`,
          "only ten b",
        ]);
        assert.deepEqual([res.status, res.code, res.closedCleanly], [400, "RequestTimeout", true]);
      });

      test("a chunked PUT past the maximum object size is 400 EntityTooLarge, answered", async (t) => {
        if (!store) return t.skip("the maximum object size is ours to set: ours only");
        const url = await getSignedUrl(
          target.client({ endpoint: store.endpoint }),
          new PutObjectCommand({ Bucket: bucket, Key: "too-big.bin" }),
          { expiresIn: 60 },
        );
        const { pathname, search } = new URL(url);
        const chunk = Buffer.alloc(600, 0x61);
        const res = await exchange(store.endpoint, [
          `PUT ${pathname}${search} HTTP/1.1\r\nHost: ${new URL(store.endpoint).host}\r\nTransfer-Encoding: chunked\r\n\r\n`,
          `258\r\n${chunk.toString()}\r\n`,
          `258\r\n${chunk.toString()}\r\n`,
        ]);
        assert.deepEqual([res.status, res.code], [400, "EntityTooLarge"]);
      });
    });
  });
}
