// A large request refused before its body is read (bad signature, write-once
// precondition) is answered, then drained, so the client reads the status
// instead of a reset (EPIPE) while it is still sending.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { presignUrl } from "@sluice/sigv4";
import { CREDENTIALS, openTestStore, type TestStore } from "./test/harness.ts";

const SIZE = 20 * 1024 * 1024;
const CHUNK = 1024 * 1024;

/**
 * A PUT sent the way many clients send (python requests, boto3 without
 * 100-continue): the whole body in 1 MiB writes a moment apart, the answer read
 * afterwards. A server that hangs up mid-body resets the connection (EPIPE,
 * ECONNRESET) and the answer waiting in the socket is lost.
 */
function putSlowly(url: string): Promise<string> {
  const { port, pathname, search, host } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), "127.0.0.1");
    const received: Buffer[] = [];
    let sent = 0;
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    // A failed write loses the answer, whatever arrived before it.
    socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.on("close", () => {
      const head = Buffer.concat(received).toString("latin1");
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
      resolve(
        sent < SIZE ? `hung up after ${sent} bytes` : `${status} ${/<Code>([^<]+)<\/Code>/.exec(head)?.[1]}`,
      );
    });
    socket.write(
      `PUT ${pathname}${search} HTTP/1.1\r\nhost: ${host}\r\nif-none-match: *\r\ncontent-length: ${SIZE}\r\nconnection: close\r\n\r\n`,
    );
    const chunk = Buffer.alloc(CHUNK, 7);
    const next = () => {
      if (socket.destroyed) return;
      if (sent === SIZE) return void socket.end();
      socket.write(chunk, (error) => {
        if (error) return;
        sent += CHUNK;
        setTimeout(next, 2);
      });
    };
    next();
  });
}

describe("refused large requests", () => {
  let t: TestStore;
  before(async () => {
    t = await openTestStore({ buckets: ["refused"] });
    await t.s3.send(new PutObjectCommand({ Bucket: "refused", Key: "taken", Body: "first" }));
  });
  after(() => t?.close());

  it("20 direct 20 MB PUTs that are refused all read their 412 or 403", async () => {
    const presigned = (key: string) =>
      presignUrl({
        method: "PUT",
        url: `${t.endpoint}/refused/${key}`,
        headers: { "if-none-match": "*", "content-length": String(SIZE) },
        credentials: CREDENTIALS,
        region: "us-east-1",
        expiresIn: 60,
      });
    const attempts = Array.from({ length: 20 }, (_, i) => {
      // Even: write-once meets an existing object (412). Odd: a tampered signature (403).
      const url =
        i % 2 === 0
          ? presigned("taken")
          : presigned(`new-${i}`).replace(/Signature=[0-9a-f]+/, `Signature=${"0".repeat(64)}`);
      return putSlowly(url);
    });
    const answers = await Promise.all(attempts);
    assert.deepEqual(
      answers,
      answers.map((_, i) => (i % 2 === 0 ? "412 PreconditionFailed" : "403 SignatureDoesNotMatch")),
    );
  });
});
