// `sluice webhooks deliveries` and `sluice webhooks replay` against a local serve sending to a real receiver.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { randomFile } from "@sluice/client/testing";
import { type CliOptions, jsonLines, runCli, type Serve, startServe } from "../test/cli.ts";

describe("sluice webhooks", () => {
  let root: string;
  let serve: Serve;
  let receiver: Server;
  const ids: string[] = [];
  let dev: CliOptions;
  let server: CliOptions;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "sluice-webhooks-"));
    receiver = createServer((req, res) => {
      ids.push(String(req.headers["webhook-id"]));
      req.resume();
      req.on("end", () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    const env = {
      HOME: root,
      SLUICE_WEBHOOK_URL: hook,
      SLUICE_WEBHOOK_SECRETS: `whsec_${randomBytes(24).toString("base64")}`,
    };
    serve = await startServe(["--data", "data", "--port", "0", "--store-port", "0"], { cwd: root, env });
    dev = { cwd: root, env: { HOME: root, SLUICE_URL: serve.url, SLUICE_TOKEN: serve.token } };
    const created = await runCli(
      ["apikey", "create", "--server", "--data", "data", "--tenant", "local", "--user", "backend", "--json"],
      { cwd: root, env: { HOME: root } },
    );
    assert.equal(created.code, 0, created.stderr);
    const { key } = JSON.parse(created.stdout) as { key: string };
    server = { cwd: root, env: { HOME: root, SLUICE_URL: serve.url, SLUICE_TOKEN: key } };
  });
  after(async () => {
    await serve?.stop();
    receiver?.close();
    await rm(root, { recursive: true, force: true });
  });

  test("deliveries lists what was sent; replay sends the same event again; user tokens are refused", async () => {
    const file = await randomFile(root, "notes.bin", 1000);
    const upload = await runCli(["upload", file.path, "--json"], dev);
    assert.equal(upload.code, 0, upload.stderr);
    const fileId = jsonLines<{ id: string }>(upload.stdout)[0]!.id;
    const deadline = Date.now() + 15_000;
    let deliveries: Array<{ id: string; state: string; type: string; eventId: string }> = [];
    while (Date.now() < deadline) {
      const listed = await runCli(["webhooks", "deliveries", "--file", fileId, "--json"], server);
      assert.equal(listed.code, 0, listed.stderr);
      deliveries = JSON.parse(listed.stdout);
      if (deliveries[0]?.state === "delivered") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(deliveries[0]?.type, "file.ready");
    assert.equal(deliveries[0]?.state, "delivered");
    const human = await runCli(["webhooks", "deliveries"], server);
    assert.match(human.stdout, /file\.ready\s+default\s+delivered\s+1\s+204/);

    const replay = await runCli(["webhooks", "replay", deliveries[0]!.id], server);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, /^queued /);
    while (ids.filter((id) => id === deliveries[0]!.eventId).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(ids.filter((id) => id === deliveries[0]!.eventId).length, 2);

    const refused = await runCli(["webhooks", "deliveries"], dev);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /server key/);
  });
});
