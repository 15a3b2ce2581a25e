import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import type { SluiceError } from "@sluice/core";
import { concatBodies } from "../body.ts";
import { createNodeTransport } from "./http-transport.ts";

test("bodies of every kind arrive exactly, with content-length, progress and one kept-alive socket", async (t) => {
  const sockets = new Set<unknown>();
  const server = createServer(async (req, res) => {
    sockets.add(req.socket);
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of req) {
      hash.update(chunk);
      size += chunk.length;
    }
    res.setHeader("etag", '"x"');
    res.end(JSON.stringify({ length: req.headers["content-length"], size, sha: hash.digest("hex") }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const transport = createNodeTransport();
  t.after(() => transport.close());

  const bytes = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => i % 251);
  const sha = createHash("sha256").update(bytes).digest("hex");
  const bodies = [
    bytes,
    new Blob([bytes]),
    concatBodies([
      bytes.subarray(0, 10),
      {
        length: bytes.length - 10,
        open: async function* () {
          yield bytes.subarray(10);
        },
      },
    ]),
  ];
  for (const body of bodies) {
    let progress = 0;
    const response = await transport.request({ method: "PUT", url, body, onProgress: (n) => (progress = n) });
    assert.equal(response.status, 200);
    assert.equal(response.headers.etag, '"x"');
    assert.deepEqual(JSON.parse(await response.text()), {
      length: String(bytes.length),
      size: bytes.length,
      sha,
    });
    assert.equal(progress, bytes.length);
  }
  assert.equal(sockets.size, 1, "keep-alive reuses the connection");
});

test("a refused connection is a NetworkError; an aborted request is Aborted", async () => {
  const transport = createNodeTransport();
  await assert.rejects(
    transport.request({ method: "GET", url: "http://127.0.0.1:9/" }),
    (e: SluiceError) => e.code === "NetworkError" && e.status === 0,
  );
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    transport.request({ method: "GET", url: "http://127.0.0.1:9/", signal: controller.signal }),
    (e: SluiceError) => e.code === "Aborted",
  );
  transport.close();
});
