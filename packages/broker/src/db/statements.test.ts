// PostgreSQL runs the broker's parameterised queries as named statements,
// parsed and planned once per connection; a schema change that breaks a
// prepared `select *` costs one failed query, then the text runs unnamed.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { testDatabases } from "../test/databases.ts";
import { type MetadataDb, openDatabase } from "./open.ts";

const postgres = testDatabases().find((d) => d.name === "postgres")!;

describe("prepared statements on PostgreSQL", { skip: postgres.skip, timeout: 60_000 }, () => {
  let metadata: MetadataDb;
  let drop: () => Promise<void>;
  before(async () => {
    const created = await postgres.create();
    drop = created.drop;
    // One connection: the statements prepared are the ones the next query sees.
    metadata = await openDatabase(created.url, { pool: { poolSize: 1 } });
  });
  after(async () => {
    await metadata?.close();
    await drop?.();
  });

  const byIdQuery = (id: string) => metadata.db.selectFrom("uploads").selectAll().where("id", "=", id);
  const byId = (id: string) => byIdQuery(id).execute();
  const prepared = async () =>
    (
      await sql<{
        name: string;
        statement: string;
      }>`select name, statement from pg_prepared_statements`.execute(metadata.db)
    ).rows;

  it("prepares a query once and reuses it on the connection", async () => {
    const statement = byIdQuery("a").compile().sql;
    await byId("a");
    await byId("b");
    await byId("c");
    const named = (await prepared()).filter((p) => p.statement === statement);
    assert.equal(named.length, 1, JSON.stringify(await prepared()));
    assert.match(named[0]!.name, /^sluice_\d+$/);
  });

  it("fails once when a migration changes a prepared select's columns, then runs the text unnamed", async () => {
    await byId("d");
    await sql`alter table uploads add column bench_extra text`.execute(metadata.db);
    await assert.rejects(byId("e"), /cached plan must not change result type/);
    assert.deepEqual(await byId("f"), []);
    assert.deepEqual(await byId("g"), []);
  });
});
