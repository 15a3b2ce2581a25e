import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { sql } from "kysely";
import pg from "pg";
import { describeOnEachDatabase, uploadRow } from "../test/databases.ts";
import { claimJob, enqueueJob, failJob, finishJob, getJob, renewJob } from "./jobs.ts";
import { insertLink, useLink } from "./links.ts";
import { openDatabase } from "./open.ts";
import { getOwnedUpload, insertUpload, listFiles, transitionUpload, usage } from "./uploads.ts";

const alice = { tenant: "t1", user: "alice" };
const mallory = { tenant: "t2", user: "alice" };

describeOnEachDatabase("metadata store", (handle, database) => {
  it("migrates idempotently (a second open is a no-op)", async () => {
    const created = await database.create();
    const first = await openDatabase(created.url);
    await first.close();
    const second = await openDatabase(created.url);
    await second.close();
    await created.drop();
  });

  if (database.name === "postgres") {
    it("survives the server dropping its connections (restart, failover)", async () => {
      const created = await database.create();
      const errors: Error[] = [];
      const db = await openDatabase(created.url, { onConnectionError: (e) => errors.push(e) });
      // Three idle pooled connections, then the server ends them all.
      await Promise.all([1, 2, 3].map(() => sql`select pg_sleep(0.05)`.execute(db.db)));
      const admin = new pg.Client({ connectionString: created.url });
      await admin.connect();
      await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
      );
      await admin.end();
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(errors.length >= 1, "the pool reported the lost connections");
      assert.equal(await getOwnedUpload(db.db, "after", alice), undefined, "queries go on");
      await db.close();
      await created.drop();
    });
  }

  it("stores bigints beyond 4 GiB and reads numbers back", async () => {
    const row = uploadRow();
    await insertUpload(handle().db, row);
    const read = await getOwnedUpload(handle().db, row.id, alice);
    assert.equal(read?.size, 6 * 1024 ** 3);
    assert.equal(typeof read?.created_at, "number");
  });

  it("scopes reads to the owner (same user name in another tenant sees nothing)", async () => {
    const row = uploadRow();
    await insertUpload(handle().db, row);
    assert.equal(await getOwnedUpload(handle().db, row.id, mallory), undefined);
  });

  it("transitions state once: the second completion finds nothing to change", async () => {
    const row = uploadRow();
    await insertUpload(handle().db, row);
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        transitionUpload(handle().db, { id: row.id, from: ["pending"], to: "uploaded" }),
      ),
    );
    assert.equal(results.filter(Boolean).length, 1);
    const files = await listFiles(handle().db, { owner: alice, limit: 100 });
    assert.ok(files.some((f) => f.id === row.id));
    const { pending } = await usage(handle().db, alice);
    assert.ok(pending >= 1);
  });

  it("uses a 3-use link exactly 3 times under 50 concurrent hits", async () => {
    const row = uploadRow({ state: "ready" });
    await insertUpload(handle().db, row);
    const now = Date.now();
    await insertLink(handle().db, {
      id: randomUUID(),
      token_hash: `h-${row.id}`,
      upload_id: row.id,
      tenant: alice.tenant,
      user_id: alice.user,
      expires_at: now + 60_000,
      max_downloads: 3,
      revoked_at: null,
      created_at: now,
    });
    const hits = await Promise.all(
      Array.from({ length: 50 }, () => useLink(handle().db, `h-${row.id}`, Date.now())),
    );
    assert.equal(hits.filter(Boolean).length, 3);
  });

  it("refuses expired links and links to files that are not ready", async () => {
    const ready = uploadRow({ state: "ready" });
    const pending = uploadRow();
    await insertUpload(handle().db, ready);
    await insertUpload(handle().db, pending);
    const now = Date.now();
    const base = { tenant: "t1", user_id: "alice", max_downloads: null, revoked_at: null, created_at: now };
    await insertLink(handle().db, {
      ...base,
      id: randomUUID(),
      token_hash: `e-${ready.id}`,
      upload_id: ready.id,
      expires_at: now - 1,
    });
    await insertLink(handle().db, {
      ...base,
      id: randomUUID(),
      token_hash: `p-${pending.id}`,
      upload_id: pending.id,
      expires_at: now + 60_000,
    });
    assert.equal(await useLink(handle().db, `e-${ready.id}`, now), undefined);
    assert.equal(await useLink(handle().db, `p-${pending.id}`, now), undefined);
  });

  it("hands a job to one worker at a time and back after its lease runs out", async () => {
    const id = await enqueueJob(handle().db, { kind: "verify", uploadId: "u1" });
    const now = Date.now() + 1;
    const claims = await Promise.all(
      Array.from({ length: 5 }, () => claimJob(handle().db, { now, leaseMs: 1000, workerId: "w1" })),
    );
    const mine = claims.filter((j) => j?.id === id);
    assert.equal(mine.length, 1);
    assert.equal(
      await claimJob(handle().db, { now: now + 10, leaseMs: 1000, workerId: "w1" }).then((j) => j?.id === id),
      false,
    );
    const again = await claimJob(handle().db, { now: now + 2000, leaseMs: 1000, workerId: "w1" });
    assert.equal(again?.id, id, "lease expired: the job is claimable again (crash recovery)");
    assert.equal(again?.attempts, 2);
    await failJob(handle().db, {
      job: again!,
      error: "boom",
      maxAttempts: 2,
      now: now + 2000,
      backoff: { retryDelayMs: 1000, maxRetryDelayMs: 60_000 },
    });
    assert.equal((await getJob(handle().db, id))?.state, "failed");
    const other = await enqueueJob(handle().db, { kind: "verify", uploadId: "u2", now: now });
    const claimed = await claimJob(handle().db, { now: now + 5000, leaseMs: 1000, workerId: "w1" });
    assert.equal(claimed?.id, other);
    assert.equal(await finishJob(handle().db, claimed!), true);
    assert.equal((await getJob(handle().db, other))?.state, "done");
  });

  it("a worker whose lease ran out cannot renew, finish or fail the job another worker took over", async () => {
    const id = await enqueueJob(handle().db, { kind: "verify", uploadId: "stalled" });
    const now = Date.now() + 1;
    const stale = await claimJob(handle().db, { now, leaseMs: 1000, workerId: "stalled" });
    assert.equal(stale?.id, id);
    const current = await claimJob(handle().db, { now: now + 2000, leaseMs: 1000, workerId: "live" });
    assert.equal(current?.id, id, "the lease ran out: another worker takes the job over");

    await renewJob(handle().db, { job: stale!, until: now + 60_000 });
    assert.equal(
      (await getJob(handle().db, id))?.locked_until,
      now + 3000,
      "the stale renewal changed nothing",
    );
    await failJob(handle().db, {
      job: stale!,
      error: "late",
      maxAttempts: 5,
      now: now + 2500,
      backoff: { retryDelayMs: 1000, maxRetryDelayMs: 60_000 },
    });
    assert.equal((await getJob(handle().db, id))?.locked_by, "live", "the stale failure changed nothing");
    assert.equal(await finishJob(handle().db, stale!), false, "the stale worker's completion is refused");
    assert.equal(await finishJob(handle().db, current!), true);
    assert.equal(await finishJob(handle().db, current!), false, "done once");
    assert.equal((await getJob(handle().db, id))?.state, "done");
  });
});
