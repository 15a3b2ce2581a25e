import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isSluiceError } from "@sluice/core";
import { startStore } from "@sluice/store";
import { loadConfig, startBroker } from "./index.ts";
import { startHarness } from "./test/harness.ts";

describe("startBroker (what `sluice serve` calls)", () => {
  let dir: string;
  let store: Awaited<ReturnType<typeof startStore>>;
  const credentials = { accessKeyId: "AKSERVE", secretAccessKey: randomBytes(20).toString("hex") };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sluice-serve-"));
    store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
  });
  after(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = () =>
    loadConfig({
      env: { SLUICE_DATA_DIR: join(dir, "data"), SLUICE_PORT: "0", SLUICE_LOG_LEVEL: "silent" },
      overrides: { storage: { endpoint: store.endpoint, ...credentials } },
    });

  it("creates the bucket, persists a 0600 secret and returns a working dev token", async () => {
    const broker = await startBroker(config());
    try {
      assert.match(broker.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(broker.devToken);
      assert.equal(statSync(join(dir, "data", "jwt-secret")).mode & 0o777, 0o600);
      assert.ok(statSync(join(dir, "data", "sluice.db")).isFile(), "SQLite under dataDir by default");
      const res = await fetch(`${broker.url}/v1/files`, {
        headers: { authorization: `Bearer ${broker.devToken}` },
      });
      assert.equal(res.status, 200);
      assert.equal((await fetch(`${broker.url}/readyz`)).status, 200, "bucket exists");
    } finally {
      await broker.close();
    }
    const again = await startBroker(config());
    try {
      assert.ok(again.devToken);
      const res = await fetch(`${again.url}/v1/files`, {
        headers: { authorization: `Bearer ${again.devToken}` },
      });
      assert.equal(res.status, 200, "the secret survives restarts");
    } finally {
      await again.close();
    }
  });

  it("mints no dev token when a secret is configured", async () => {
    const broker = await startBroker({
      ...config(),
      auth: { ...config().auth, jwt: { ...config().auth.jwt, secret: "s".repeat(40) } },
    });
    try {
      assert.equal(broker.devToken, undefined);
    } finally {
      await broker.close();
    }
  });

  it("fails start-up with a clear error when storage is missing or unreachable", async () => {
    await assert.rejects(
      startBroker(loadConfig({ env: { SLUICE_DATA_DIR: join(dir, "x"), SLUICE_PORT: "0" } })),
      (error) => isSluiceError(error) && /storage\.endpoint/.test(error.message),
    );
    const unreachable = loadConfig({
      env: { SLUICE_DATA_DIR: join(dir, "y"), SLUICE_PORT: "0", SLUICE_LOG_LEVEL: "silent" },
      overrides: { storage: { endpoint: "http://127.0.0.1:1", ...credentials } },
    });
    await assert.rejects(startBroker(unreachable), (error) => {
      assert.ok(isSluiceError(error));
      assert.equal(error.code, "StorageUnavailable");
      assert.doesNotMatch(error.message, new RegExp(credentials.secretAccessKey));
      return true;
    });
  });

  it("fails, and leaves nothing running, when its port is taken (the test file exits instead of hanging)", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      await assert.rejects(startHarness({ config: { server: { port } } }), { code: "EADDRINUSE" });
    } finally {
      taken.close();
    }
  });
});
