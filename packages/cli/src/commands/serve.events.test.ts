// `sluice serve` wires the embedded store's event notifications (signed
// webhook) to the broker by default: bytes sent with curl to a grant, and
// nobody ever calling complete, still end `ready`, as S3 → SQS does on AWS.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { binaryTier } from "@sluice/core/testing";
import { type Serve, startServe } from "../test/cli.ts";

const curl = binaryTier("/usr/bin/curl", "curl");

describe("sluice serve completes uploads from storage events", {
  skip: curl.available ? false : curl.reason,
}, () => {
  let root: string;
  let serve: Serve;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "sluice-serve-events-"));
    serve = await startServe(["--data", "data", "--port", "0", "--store-port", "0"], {
      cwd: root,
      env: { HOME: root },
    });
  });
  after(async () => {
    await serve?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("bytes uploaded with curl, complete never called: the file reaches ready", async () => {
    const body = Buffer.from("sent by curl, then the client died\n");
    const res = await fetch(`${serve.url}/v1/uploads`, {
      method: "POST",
      headers: { authorization: `Bearer ${serve.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "orphan.txt", size: body.length, type: "text/plain" }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const g = (await res.json()) as {
      upload: { id: string };
      put: { url: string; headers: Record<string, string> };
    };
    const file = join(root, "orphan.txt");
    await writeFile(file, body);
    const headers = Object.entries(g.put.headers)
      .filter(([name]) => name !== "content-length")
      .flatMap(([name, value]) => ["-H", `${name}: ${value}`]);
    const { stdout } = await promisify(execFile)(curl.available ? curl.value : "curl", [
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-X",
      "PUT",
      "--data-binary",
      `@${file}`,
      ...headers,
      g.put.url,
    ]);
    assert.equal(stdout, "200");
    const deadline = Date.now() + 15_000;
    let state = "pending";
    while (state !== "ready" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const status = await fetch(`${serve.url}/v1/uploads/${g.upload.id}`, {
        headers: { authorization: `Bearer ${serve.token}` },
      });
      state = ((await status.json()) as { state: string }).state;
    }
    assert.equal(state, "ready");
  });
});
