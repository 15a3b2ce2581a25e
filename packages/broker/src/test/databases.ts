// The metadata-store conformance matrix: every DB test runs on SQLite and, when
// SLUICE_TEST_POSTGRES_URL is set (always in CI), on PostgreSQL in a fresh database.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { postgresTier } from "@sluice/core/testing";
import pg from "pg";
import { type MetadataDb, openDatabase } from "../db/open.ts";
import type { NewUpload } from "../db/schema.ts";

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

/**
 * One `describe` per database of the matrix, each with a fresh migrated
 * database opened before its tests and dropped after them.
 */
export function describeOnEachDatabase(
  title: string,
  body: (handle: () => MetadataDb, database: TestDatabase) => void,
): void {
  for (const database of testDatabases()) {
    describe(`${title} on ${database.name}`, { skip: database.skip }, () => {
      let handle: MetadataDb | undefined;
      let drop: (() => Promise<void>) | undefined;
      before(async () => {
        const created = await database.create();
        drop = created.drop;
        handle = await openDatabase(created.url);
      });
      after(async () => {
        await handle?.close();
        await drop?.();
      });
      body(() => {
        if (!handle) throw new Error("test database not open");
        return handle;
      }, database);
    });
  }
}

/** A complete uploads row (a pending PUT of a.txt by t1/alice) with the given fields changed. */
export function uploadRow(overrides: Partial<NewUpload> = {}): NewUpload {
  const id = overrides.id ?? randomUUID();
  const now = Date.now();
  return {
    id,
    tenant: "t1",
    user_id: "alice",
    profile: "default",
    name: "a.txt",
    type: "text/plain",
    size: 6 * 1024 ** 3,
    sha256: null,
    key: `t1/alice/${id}/a.txt`,
    incoming_key: `t1/alice/${id}/incoming/a.txt`,
    method: "put",
    state: "pending",
    reason: null,
    multipart_id: null,
    part_size: null,
    part_count: null,
    etag: null,
    detected_type: null,
    created_at: now,
    updated_at: now,
    expires_at: now + 60_000,
    completed_at: null,
    ...overrides,
  };
}
