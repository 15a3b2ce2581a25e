// A full disk under the embedded store, on a small tmpfs this test mounts (root
// only; CI runs as root): ingesting answers 503 ServiceUnavailable (retried by
// every S3 client), /readyz reports the store not ready below its free-space
// threshold, and a delete storage could not carry out is finished by a job.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type RunningStore, startStore } from "@sluice/store";
import pino from "pino";
import { type Broker, createBroker } from "../app.ts";
import { signToken } from "../auth/jwt.ts";
import { parseConfig } from "../config/load.ts";
import { type GrantJson, putBytes, TEST_SECRET } from "../test/harness.ts";
import { objectExists } from "./s3.ts";

const MiB = 1024 * 1024;
const root = process.getuid?.() === 0;

/** Writes zeros into `path` until the disk refuses (ENOSPC). */
async function fill(path: string): Promise<void> {
  const file = await open(path, "w");
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) await file.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    await file.close().catch(() => undefined);
  }
}

describe("a full disk", { skip: root ? undefined : "mounting a tmpfs needs root (CI runs as root)" }, () => {
  let mount: string;
  let store: RunningStore;
  let broker: Broker;
  let token: string;
  before(async () => {
    mount = mkdtempSync(join(tmpdir(), "sluice-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=24m", "tmpfs", mount]);
    const credentials = { accessKeyId: "AKFULL", secretAccessKey: randomBytes(20).toString("hex") };
    store = await startStore({
      dataDir: join(mount, "store"),
      port: 0,
      credentials: [credentials],
      minFreeBytes: 4 * MiB,
    });
    const config = parseConfig({
      dataDir: mkdtempSync(join(tmpdir(), "sluice-full-broker-")),
      storage: { endpoint: store.endpoint, ...credentials },
      auth: { jwt: { secret: TEST_SECRET } },
      log: { level: "silent" },
    });
    broker = await createBroker(config, {
      logger: pino({ level: "silent" }),
      sweeper: false,
      readiness: { storeDiskSpace: async () => (await store.health()).ok },
    });
    token = await signToken({ secret: TEST_SECRET, tenant: "acme", user: "alice", jwt: config.auth.jwt });
  });
  after(async () => {
    await broker?.close();
    await store?.close();
    if (mount) {
      execFileSync("umount", [mount]);
      rmSync(mount, { recursive: true, force: true });
    }
    if (broker) rmSync(broker.context.config.dataDir, { recursive: true, force: true });
  });

  const api = (path: string, init: { method?: string; json?: unknown } = {}) =>
    broker.fetch(
      new Request(`http://broker${path}`, {
        method: init.method ?? (init.json === undefined ? "GET" : "POST"),
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: init.json === undefined ? undefined : JSON.stringify(init.json),
      }),
    );
  const grant = async (size: number) =>
    (await (
      await api("/v1/uploads", { json: { name: "f.bin", size, type: "application/octet-stream" } })
    ).json()) as GrantJson;
  const ready = async () => {
    const res = await api("/readyz");
    return { status: res.status, checks: ((await res.json()) as { checks: Record<string, boolean> }).checks };
  };

  it("answers 503 while full, reports not ready, and finishes a refused delete once space is back", async (t) => {
    const kept = await grant(2 * MiB);
    assert.equal((await putBytes(kept.put, randomBytes(2 * MiB))).status, 200);
    const done = await api(`/v1/uploads/${kept.upload.id}/complete`, { json: {} });
    assert.equal(((await done.json()) as { state: string }).state, "ready");
    assert.deepEqual(await ready(), {
      status: 200,
      checks: { storeDiskSpace: true, database: true, storage: true },
    });

    const filler = join(mount, "filler");
    await fill(filler);
    const full = await ready();
    assert.equal(full.status, 503);
    assert.equal(full.checks.storeDiskSpace, false, "below the free-space threshold");
    assert.equal(full.checks.storage, true, "storage itself still answers");

    const refused = await grant(3 * MiB);
    const put = await putBytes(refused.put, randomBytes(3 * MiB));
    assert.equal(put.status, 503, "not 400 IncompleteBody: a retryable refusal");
    assert.match(await put.text(), /<Code>ServiceUnavailable<\/Code>/);

    const { s3, target } = broker.context;
    const deleted = await api(`/v1/files/${kept.upload.id}`, { method: "DELETE" });
    const stillThere = await objectExists(s3, target.bucket, kept.upload.key);
    t.diagnostic(`delete at 100 % full answered ${deleted.status}`);
    // Never "done" while storage still holds the object.
    if (deleted.status === 204) assert.equal(stillThere, false);
    else {
      assert.equal(deleted.status, 202);
      assert.deepEqual(await deleted.json(), { id: kept.upload.id, state: "deleting" });
      assert.equal(stillThere, true);
    }
    assert.equal((await api(`/v1/files/${kept.upload.id}`)).status, 404, "the file is gone for its owner");

    await rm(filler);
    assert.equal((await ready()).status, 200);
    const deadline = Date.now() + 20_000;
    while ((await objectExists(s3, target.bucket, kept.upload.key)) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await objectExists(s3, target.bucket, kept.upload.key), false, "the job removed it");
    t.diagnostic(
      `object gone ${((Date.now() - (deadline - 20_000)) / 1000).toFixed(1)} s after space came back`,
    );
  });
});
