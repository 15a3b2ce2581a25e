// One-request uploads (PUT /v1/put/:profile/:name) with the clients that need
// them: curl -L -T and Python requests follow the 307 to storage with their
// body; the broker never reads it; the storage event completes the upload.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { binaryTier, freePort } from "@sluice/core/testing";
import { setupBucketEvents } from "../admin.ts";
import { type Harness, startHarness } from "../test/harness.ts";

const run = promisify(execFile);
const EVENTS_TOKEN = "events-token-for-tests-0123456789abcdef";
const ARN = "arn:sluice:sqs::broker:webhook";
const curl = binaryTier("/usr/bin/curl", "curl");
const python = binaryTier("/usr/bin/python3", "python3-requests");

async function receivedBytes(h: Harness): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  return Number(/^sluice_http_received_bytes_total (\d+)$/m.exec(text)?.[1] ?? 0);
}

async function settled(h: Harness, id: string): Promise<{ state: string; size: number; type: string }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const upload = (await (await h.api(`/v1/uploads/${id}`)).json()) as {
      state: string;
      size: number;
      type: string;
    };
    if (upload.state === "ready" || upload.state === "rejected" || Date.now() > deadline) return upload;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("one-request uploads: PUT /v1/put/:profile/:name answered 307 to storage", () => {
  let h: Harness;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-put-"));
    // The store must know the broker's URL before the broker exists: reserve a port.
    const port = await freePort();
    h = await startHarness({
      config: {
        server: { port },
        events: { token: EVENTS_TOKEN },
        profiles: {
          default: { maxSize: "1GB" },
          text: { maxSize: "1MB", types: ["text/plain"] },
          sealed: { encryption: "AES256" },
        },
      },
      store: {
        notificationTargets: [
          { arn: ARN, url: `http://127.0.0.1:${port}/v1/events/s3`, secret: EVENTS_TOKEN },
        ],
      },
    });
    await setupBucketEvents(h.config, { arn: ARN });
  });
  after(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("curl -L -T uploads 100 MB straight to storage: the broker reads under 2 KB of it, the event completes it", {
    skip: curl.available ? false : curl.reason,
  }, async () => {
    const file = join(dir, "big.bin");
    const handle = await open(file, "w");
    const block = randomBytes(1024 * 1024);
    const digest = createHash("sha256");
    for (let i = 0; i < 100; i++) {
      await handle.write(block);
      digest.update(block);
    }
    await handle.close();
    const before = await receivedBytes(h);
    const { stdout } = await run("/usr/bin/curl", [
      "-sS",
      "-L",
      "-T",
      file,
      "-H",
      `Authorization: Bearer ${await h.token()}`,
      "-o",
      "/dev/null",
      "-D",
      "-",
      "-w",
      "%{http_code}",
      `${h.url}/v1/put/default/big.bin`,
    ]);
    assert.match(stdout, /^HTTP\/1\.1 307/m, "the broker answered with a redirect");
    assert.match(stdout, /200$/, "storage took the body");
    const id = /^x-sluice-upload-id: (\S+)/im.exec(stdout)?.[1];
    assert.ok(id, stdout);
    const read = (await receivedBytes(h)) - before;
    assert.ok(read < 2048, `the broker read ${read} bytes of a 100 MB upload`);
    const upload = await settled(h, id);
    assert.equal(upload.state, "ready", "completed by the storage event, nobody called complete");
    assert.equal(upload.size, 100 * 1024 * 1024);
    const dl = await h.api(`/v1/files/${id}/download`);
    const stored = Buffer.from(await (await fetch(dl.headers.get("location") as string)).arrayBuffer());
    assert.equal(createHash("sha256").update(stored).digest("hex"), digest.digest("hex"));
  });

  it("Python requests follows the 307 with its body and a declared type", {
    skip: python.available ? false : python.reason,
  }, async () => {
    const script = join(dir, "put.py");
    await writeFile(
      script,
      [
        "import sys, requests",
        "r = requests.put(sys.argv[1], data=b'hello from requests\\n', headers={'Authorization': 'Bearer ' + sys.argv[2], 'Content-Type': 'text/plain'})",
        "print(r.status_code, r.history[0].status_code if r.history else '-', r.history[0].headers.get('x-sluice-upload-id') if r.history else '-')",
      ].join("\n"),
    );
    const { stdout } = await run("/usr/bin/python3", [
      script,
      `${h.url}/v1/put/text/note.txt`,
      await h.token(),
    ]);
    const [status, redirect, id] = stdout.trim().split(" ");
    assert.equal(redirect, "307");
    assert.equal(status, "200");
    assert.ok(id);
    const upload = await settled(h, id);
    assert.equal(upload.state, "ready");
    assert.equal(upload.type, "text/plain");
  });

  it("refuses what it cannot grant: no Content-Length (411), a type or size the profile forbids, an encrypted profile", async () => {
    const put = (path: string, headers: Record<string, string>, body?: string) =>
      h.api(path, { method: "PUT", headers, body });
    const chunked = await fetch(`${h.url}/v1/put/default/x.bin`, {
      method: "PUT",
      headers: { authorization: `Bearer ${await h.token()}` },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new Uint8Array(10));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    assert.equal(chunked.status, 411);
    assert.equal((await put("/v1/put/text/x.png", { "content-type": "image/png" }, "x")).status, 415);
    assert.equal(
      (await put("/v1/put/text/x.txt", { "content-type": "text/plain" }, "x".repeat(2 * 1024 * 1024))).status,
      413,
    );
    const sealed = await put("/v1/put/sealed/x.bin", {}, "x");
    assert.equal(sealed.status, 400);
    assert.match(
      ((await sealed.json()) as { error: { message: string } }).error.message,
      /server-side encryption/,
    );
    assert.equal((await put("/v1/put/nope/x.bin", {}, "x")).status, 400);
    assert.equal((await h.api("/v1/put/default/x.bin", { method: "PUT", as: null, body: "x" })).status, 401);
  });
});
