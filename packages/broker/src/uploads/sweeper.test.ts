import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { startStore } from "@sluice/store";
import pino from "pino";
import { type Broker, createBroker } from "../app.ts";
import { signToken } from "../auth/jwt.ts";
import { parseConfig } from "../config/load.ts";
import { listAudit } from "../db/audit.ts";
import { uploadRow } from "../test/databases.ts";
import { PNG, postForm } from "../test/form.ts";
import { type GrantJson, incomingKey, putBytes, TEST_SECRET } from "../test/harness.ts";
import { sweep } from "./sweeper.ts";

describe("sweeper", () => {
  let dir: string;
  let store: Awaited<ReturnType<typeof startStore>>;
  let broker: Broker;
  let token: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sluice-sweep-"));
    const credentials = { accessKeyId: "AKSWEEP", secretAccessKey: randomBytes(20).toString("hex") };
    store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
    const config = parseConfig({
      dataDir: join(dir, "broker"),
      storage: { endpoint: store.endpoint, ...credentials },
      auth: { jwt: { secret: TEST_SECRET } },
      profiles: {
        default: { grantExpiry: "60s", multipartThreshold: "6MB" },
        // Outlives the stray age, so a sweep can meet a pending form upload's object.
        slow: { grantExpiry: "3h" },
        week: { multipartThreshold: "6MB", multipartLifetime: "7d" },
        brief: { multipartThreshold: "6MB", multipartLifetime: "1h", multipartIdle: "10m" },
      },
      sweeper: { strayAge: "1h" },
    });
    broker = await createBroker(config, { logger: pino({ level: "silent" }), sweeper: false });
    token = await signToken({ secret: TEST_SECRET, tenant: "acme", user: "alice", jwt: config.auth.jwt });
  });
  after(async () => {
    await broker?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // The Web-standard app is called directly; storage is still real HTTP.
  const api = async (path: string, body?: unknown) => {
    const res = await broker.fetch(
      new Request(`http://broker${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
    return (await res.json()) as GrantJson & GrantJson["upload"];
  };

  it("expires stale grants and removes what was written for them", async () => {
    const neverSent = await api("/v1/uploads", { name: "a.txt", size: 3, type: "text/plain" });
    const sentNotCompleted = await api("/v1/uploads", { name: "b.txt", size: 3, type: "text/plain" });
    assert.equal((await putBytes(sentNotCompleted.put, Buffer.from("abc"))).status, 200);
    const later = Date.now() + 61_000;
    const result = await sweep(broker.context, { now: later });
    assert.equal(result.expired, 2);
    assert.equal((await api(`/v1/uploads/${neverSent.upload.id}`)).state, "expired");
    assert.equal((await api(`/v1/uploads/${sentNotCompleted.upload.id}`)).state, "expired");
    await assert.rejects(
      broker.context.s3.send(
        new HeadObjectCommand({ Bucket: "sluice", Key: incomingKey(sentNotCompleted.upload.key) }),
      ),
      "the object is gone",
    );
    assert.equal((await sweep(broker.context, { now: later })).expired, 0, "idempotent");
    const entries = await listAudit(broker.context.db, { subject: neverSent.upload.id });
    assert.deepEqual(
      entries.map((e) => e.action),
      ["upload.grant", "upload.expire"],
    );
  });

  it("expires a backlog far beyond one batch in one sweep, deleting its objects in batches", async () => {
    const { db, s3 } = broker.context;
    const expiredAt = Date.now() - 1000;
    const rows = Array.from({ length: 1234 }, () => uploadRow({ tenant: "acme", expires_at: expiredAt }));
    for (let i = 0; i < rows.length; i += 400)
      await db
        .insertInto("uploads")
        .values(rows.slice(i, i + 400))
        .execute();
    const written = rows.slice(0, 5);
    // What their grants wrote, in quarantine (no grant writes a file's own key).
    for (const row of written)
      await s3.send(new PutObjectCommand({ Bucket: "sluice", Key: row.incoming_key, Body: "x" }));
    const live = uploadRow({ tenant: "acme" });
    await db.insertInto("uploads").values(live).execute();

    const result = await sweep(broker.context);
    assert.equal(result.expired, rows.length);
    const states = await db
      .selectFrom("uploads")
      .select(["state"])
      .where("id", "in", [rows[0]!.id, rows[1233]!.id, live.id])
      .orderBy("expires_at")
      .execute();
    assert.deepEqual(
      states.map((r) => r.state),
      ["expired", "expired", "pending"],
    );
    for (const row of written) {
      await assert.rejects(
        s3.send(new HeadObjectCommand({ Bucket: "sluice", Key: row.incoming_key })),
        "the object is gone",
      );
    }
    const audited = await listAudit(db, { action: "upload.expire", limit: 10_000 });
    assert.equal(audited.filter((e) => rows.some((r) => r.id === e.subject)).length, rows.length);
  });

  it("aborts unknown multipart uploads and deletes stray objects, keeping live ones", async () => {
    const { s3 } = broker.context;
    const strayKey = (name: string) => `acme/alice/${randomUUID()}/${name}`;
    await s3.send(new CreateMultipartUploadCommand({ Bucket: "sluice", Key: strayKey("multipart.bin") }));
    await s3.send(new PutObjectCommand({ Bucket: "sluice", Key: strayKey("object.bin"), Body: "x" }));
    // Not the broker's key shape: someone else's data in a shared bucket is never touched.
    await s3.send(new PutObjectCommand({ Bucket: "sluice", Key: "backups/db.dump", Body: "keep" }));
    await s3.send(new CreateMultipartUploadCommand({ Bucket: "sluice", Key: "backups/big.dump" }));
    const live = await api("/v1/uploads", {
      name: "big.bin",
      size: 7 * 1024 * 1024,
      type: "application/octet-stream",
    });
    const kept = await api("/v1/uploads", { name: "kept.txt", size: 4, type: "text/plain" });
    assert.equal((await putBytes(kept.put, Buffer.from("keep"))).status, 200);
    assert.equal((await api(`/v1/uploads/${kept.upload.id}/complete`, {})).state, "ready");

    // Two hours on: strays are old enough, the live multipart grant (24 h) is not expired.
    const result = await sweep(broker.context, { now: Date.now() + 2 * 3_600_000, storage: true });
    assert.equal(result.strays, 1);
    assert.equal(result.abortedMultipart, 1, "only the multipart upload the broker does not know");
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: "sluice" }));
    assert.deepEqual(
      (open.Uploads ?? []).map((u) => u.Key).sort(),
      [incomingKey(live.upload.key), "backups/big.dump"].sort(),
    );
    await s3.send(new HeadObjectCommand({ Bucket: "sluice", Key: "backups/db.dump" }));
    await s3.send(new HeadObjectCommand({ Bucket: "sluice", Key: kept.upload.key }));
  });

  it("deletes derivatives whose file is gone, keeping those of live files", async () => {
    const { s3 } = broker.context;
    const file = async (name: string) => {
      const g = await api("/v1/uploads", { name, size: 2, type: "text/plain" });
      assert.equal((await putBytes(g.put, Buffer.from("hi"))).status, 200);
      assert.equal((await api(`/v1/uploads/${g.upload.id}/complete`, {})).state, "ready");
      return g.upload;
    };
    const live = await file("live.txt");
    const deleted = await file("deleted.txt");
    const res = await broker.fetch(
      new Request(`http://broker/v1/files/${deleted.id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    assert.equal(res.status, 204);
    const derivative = (key: string) => `${key}~derivatives/thumb-256.webp`;
    for (const key of [
      derivative(live.key),
      derivative(deleted.key),
      derivative(`acme/alice/${randomUUID()}/never.png`),
      derivative("backups/photo.png"),
    ])
      await s3.send(new PutObjectCommand({ Bucket: "sluice", Key: key, Body: "x" }));

    const result = await sweep(broker.context, { now: Date.now() + 2 * 3_600_000, storage: true });
    assert.equal(result.strays, 2, "the deleted file's and the unknown file's");
    await s3.send(new HeadObjectCommand({ Bucket: "sluice", Key: derivative(live.key) }));
    await s3.send(new HeadObjectCommand({ Bucket: "sluice", Key: derivative("backups/photo.png") }));
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: "sluice", Key: derivative(deleted.key) })));
  });

  it("form uploads: incoming/ kept while the grant may complete, leftovers of completed and expired ones removed", async () => {
    const { s3 } = broker.context;
    const exists = (Key: string) =>
      s3.send(new HeadObjectCommand({ Bucket: "sluice", Key })).then(
        () => true,
        () => false,
      );
    const form = async (profile: string, filename: string) => {
      const g = await api("/v1/uploads", { form: true, redirect: "/form/done", profile });
      assert.equal((await postForm(g, PNG, filename)).status, 303);
      return g;
    };
    // RGW keeps the path a form sends in ${filename}: such keys nest under incoming/.
    const nested = async (prefix: string) => {
      await s3.send(new PutObjectCommand({ Bucket: "sluice", Key: `${prefix}dir/x.png`, Body: PNG }));
      return `${prefix}dir/x.png`;
    };
    const pending = await form("slow", "wait.png");
    const pendingKeys = [`${pending.upload.key}wait.png`, await nested(pending.upload.key)];
    const expired = await form("default", "late.png");
    const completed = await form("slow", "done.png");
    const file = await api(`/v1/uploads/${completed.upload.id}/complete`, {});
    assert.equal(file.state, "ready");
    // The form stays valid after completion: whatever is posted with it again is a leftover.
    assert.equal((await postForm(completed, PNG, "again.png")).status, 303);
    const leftovers = [`${completed.upload.key}again.png`, await nested(completed.upload.key)];

    // Past the stray age, before the slow grants expire.
    const first = await sweep(broker.context, { now: Date.now() + 2 * 3_600_000, storage: true });
    assert.deepEqual({ expired: first.expired, strays: first.strays }, { expired: 1, strays: 2 });
    assert.equal((await api(`/v1/uploads/${expired.upload.id}`)).state, "expired");
    assert.ok(!(await exists(`${expired.upload.key}late.png`)), "removed with its expired grant");
    for (const key of leftovers) assert.ok(!(await exists(key)), key);
    assert.ok(await exists(file.key), "the completed file stays");
    for (const key of pendingKeys) assert.ok(await exists(key), `${key} waits for completion`);

    // Past the slow grants: the pending one expires and its objects go.
    const second = await sweep(broker.context, { now: Date.now() + 4 * 3_600_000, storage: true });
    assert.equal(second.expired, 1);
    assert.equal((await api(`/v1/uploads/${pending.upload.id}`)).state, "expired");
    for (const key of pendingKeys) assert.ok(!(await exists(key)), key);
    assert.ok(await exists(file.key));
  });

  it("multipart lifetime is the profile's, longer or shorter than a day", async () => {
    const lifetime = async (profile: string) => {
      const g = await api("/v1/uploads", { profile, name: "l.bin", size: 7 * 1024 * 1024, type: "x/y" });
      return (Date.parse(g.upload.expiresAt) - Date.now()) / 3_600_000;
    };
    assert.ok(Math.abs((await lifetime("week")) - 7 * 24) < 0.1);
    assert.ok(Math.abs((await lifetime("brief")) - 1) < 0.1);
    assert.ok(Math.abs((await lifetime("default")) - 24) < 0.1, "a day by default");
  });

  it("aborts multipart uploads idle for the profile's multipartIdle, by the last part stored", async () => {
    const { s3, db } = broker.context;
    const multipart = async () => {
      const g = await api("/v1/uploads", { name: "idle.bin", size: 7 * 1024 * 1024, type: "x/y" });
      assert.equal(g.upload.method, "multipart");
      return g.upload;
    };
    const neverSent = await multipart();
    const active = await multipart();
    const [part] = (
      (await api(`/v1/uploads/${active.id}/parts`, { partNumbers: [1] })) as unknown as {
        parts: Array<{ url: string }>;
      }
    ).parts;
    assert.equal((await fetch(part!.url, { method: "PUT", body: randomBytes(7 * 1024 * 1024) })).status, 200);
    // Both were granted 7 hours ago (default multipartIdle 6 h); only `active` stored a part since.
    const sevenHoursAgo = Date.now() - 7 * 3_600_000;
    await db
      .updateTable("uploads")
      .set({ created_at: sevenHoursAgo })
      .where("id", "in", [neverSent.id, active.id])
      .execute();

    const first = await sweep(broker.context, { storage: true });
    assert.equal(first.idleMultipart, 1);
    assert.equal((await api(`/v1/uploads/${neverSent.id}`)).state, "expired");
    assert.equal((await api(`/v1/uploads/${active.id}`)).state, "pending", "its last part is recent");

    const later = await sweep(broker.context, { now: Date.now() + 6.5 * 3_600_000, storage: true });
    assert.ok(later.idleMultipart >= 1, "(with the earlier tests' multipart grants, idle by then too)");
    assert.equal((await api(`/v1/uploads/${active.id}`)).state, "expired");
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: "sluice" }));
    assert.ok(!(open.Uploads ?? []).some((u) => u.Key === active.key), "its parts are gone from storage");
  });
});
