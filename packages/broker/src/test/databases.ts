// The metadata-store conformance matrix: every DB test runs on SQLite and, when
// SLUICE_TEST_POSTGRES_URL is set (always in CI), on PostgreSQL in a fresh database.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postgresTier } from "@sluice/core/testing";
import pg from "pg";

export interface TestDatabase {
  name: "sqlite" | "postgres";
  /** Undefined when the tier is unavailable on this machine. */
  skip?: string;
  /** A fresh, empty database URL and its cleanup. */
  create(): Promise<{ url: string; drop(): Promise<void> }>;
}

export function testDatabases(): TestDatabase[] {
  const sqlite: TestDatabase = {
    name: "sqlite",
    async create() {
      const dir = mkdtempSync(join(tmpdir(), "sluice-db-"));
      return {
        url: `sqlite:${join(dir, "sluice.db")}`,
        drop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  };
  const tier = postgresTier();
  const postgres: TestDatabase = {
    name: "postgres",
    ...(tier.available ? {} : { skip: tier.reason }),
    async create() {
      if (!tier.available) throw new Error(tier.reason);
      const postgresUrl = tier.value;
      const name = `sluice_test_${randomBytes(6).toString("hex")}`;
      await adminQuery(postgresUrl, `CREATE DATABASE ${name}`);
      const url = new URL(postgresUrl);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        drop: () => adminQuery(postgresUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      };
    },
  };
  return [sqlite, postgres];
}

async function adminQuery(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
