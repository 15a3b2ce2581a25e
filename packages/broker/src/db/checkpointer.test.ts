// SQLite's WAL is checkpointed by a worker thread, never inside a commit on the
// event loop (a checkpoint fsyncs the database: a stalled request under disk load).
import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { uploadRow } from "../test/databases.ts";
import { type MetadataDb, openDatabase } from "./open.ts";
import { insertUpload } from "./uploads.ts";

describe("SQLite checkpoints off the event loop", { timeout: 60_000 }, () => {
  let dir: string;
  let metadata: MetadataDb;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-checkpoint-"));
    metadata = await openDatabase(`sqlite:${join(dir, "sluice.db")}`);
  });
  after(async () => {
    await metadata?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const size = async (name: string) => (await stat(join(dir, name))).size;

  it("commits never checkpoint; the worker moves the WAL into the database file within seconds", async () => {
    const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(
      metadata.db,
    );
    assert.equal(rows[0]?.wal_autocheckpoint, 0, "the broker's connection does not checkpoint in commits");

    const before = await size("sluice.db");
    // Well past SQLite's 1000-page automatic checkpoint: only the worker can have moved these pages.
    for (let i = 0; i < 3000; i++) await insertUpload(metadata.db, uploadRow({ name: `f${i}.txt` }));
    assert.ok((await size("sluice.db-wal")) > 4 * 1024 * 1024, "the WAL holds the writes");
    const deadline = Date.now() + 20_000;
    while ((await size("sluice.db")) < before + 1024 * 1024) {
      assert.ok(Date.now() < deadline, "the database file received the WAL's pages");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  it("closing stops the worker: the database closes cleanly and opens again with every row", async () => {
    await metadata.close();
    metadata = await openDatabase(`sqlite:${join(dir, "sluice.db")}`);
    const { count } = await metadata.db
      .selectFrom("uploads")
      .select((eb) => eb.fn.countAll<number>().as("count"))
      .executeTakeFirstOrThrow();
    assert.equal(Number(count), 3000);
  });
});
