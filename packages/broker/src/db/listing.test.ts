import assert from "node:assert/strict";
import { it } from "node:test";
import { type Kysely, sql } from "kysely";
import type { Principal } from "../auth/principal.ts";
import { describeOnEachDatabase, uploadRow } from "../test/databases.ts";
import type { Database, NewUpload } from "./schema.ts";
import { type FileCursor, type FilesPage, filesQuery, listFiles } from "./uploads.ts";

const owner: Principal = { tenant: "t1", user: "walker" };
const FILES = 10_000;

async function insertMany(db: Kysely<Database>, rows: NewUpload[]): Promise<void> {
  // 21 columns a row: 400 rows stay under both databases' bound-parameter limits.
  for (let i = 0; i < rows.length; i += 400)
    await db
      .insertInto("uploads")
      .values(rows.slice(i, i + 400))
      .execute();
}

describeOnEachDatabase("file listing", (handle, database) => {
  it(`walks ${FILES} files created in the same millisecond, each exactly once, newest id first`, async () => {
    const { db } = handle();
    const at = Date.now();
    const rows = Array.from({ length: FILES }, (_, i) =>
      uploadRow({ user_id: owner.user, created_at: at, state: i % 3 === 0 ? "ready" : "uploaded" }),
    );
    // Grants that never became files are not listed.
    const grants = Array.from({ length: 500 }, () => uploadRow({ user_id: owner.user, created_at: at }));
    await insertMany(db, [...rows, ...grants]);
    const seen: string[] = [];
    let after: FileCursor | undefined;
    for (;;) {
      const page = await listFiles(db, { owner, limit: 100, after });
      seen.push(...page.map((f) => f.id));
      if (page.length < 100) break;
      const last = page[page.length - 1]!;
      after = { createdAt: last.created_at, id: last.id };
    }
    assert.equal(seen.length, FILES);
    assert.equal(new Set(seen).size, FILES, "no file twice");
    const expected = rows.map((r) => r.id).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    assert.deepEqual(seen, expected);
  });

  it("serves every page from the uploads_files index in its order, without a sort", async () => {
    const { db } = handle();
    if (database.name === "postgres") await sql`analyze uploads`.execute(db);
    const cursor = { createdAt: Date.now(), id: "ffffffff-0000-0000-0000-000000000000" };
    const pages: FilesPage[] = [
      { owner, limit: 100 },
      { owner, limit: 100, after: cursor },
      { owner, limit: 100, state: "ready", after: cursor },
      { owner, limit: 1000, before: Date.now() + 1 },
    ];
    for (const page of pages) {
      const query = filesQuery(db, page).compile();
      if (database.name === "sqlite") {
        const details = (
          await db.executeQuery<{ detail: string }>({ ...query, sql: `explain query plan ${query.sql}` })
        ).rows.map((r) => r.detail);
        if (process.env.SLUICE_SHOW_PLANS) console.log(details);
        assert.ok(
          details.some((d) => d.includes("uploads_files")),
          details.join("\n"),
        );
        assert.ok(!details.some((d) => d.includes("TEMP B-TREE")), details.join("\n"));
      } else {
        const explained = await db.executeQuery<{ "QUERY PLAN": string }>({
          ...query,
          sql: `explain ${query.sql}`,
        });
        const plan = explained.rows.map((r) => r["QUERY PLAN"]).join("\n");
        if (process.env.SLUICE_SHOW_PLANS) console.log(plan);
        assert.match(plan, /Index Scan Backward using uploads_files/, plan);
        assert.doesNotMatch(plan, /Sort/, plan);
      }
    }
  });
});
