// Opens the metadata database named by a URL (SQLite by default, PostgreSQL for
// several brokers) behind one Kysely query layer, and migrates it.
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { SluiceError } from "@sluice/core";
import type SqliteDatabase from "better-sqlite3";
import {
  Kysely,
  type SqliteDatabase as KyselySqlite,
  Migrator,
  PostgresDialect,
  SqliteDialect,
} from "kysely";
import pg from "pg";
import { type Checkpointer, startCheckpointer } from "./checkpointer.ts";
import { migrationProvider } from "./migrations.ts";
import type { Database } from "./schema.ts";

export type DatabaseKind = "sqlite" | "postgres";

export interface MetadataDb {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** The PostgreSQL connection pool (shared counters use it too); undefined on SQLite. */
  pool?: pg.Pool;
  close(): Promise<void>;
}

/** PostgreSQL pool settings (config `database`); the defaults suit one broker of a few. */
export interface PoolOptions {
  poolSize?: number;
  /** Seconds. */
  statementTimeout?: number;
  /** Seconds a query waits for a connection before failing. */
  connectTimeout?: number;
}

/** Default database URL for a data directory. */
export function defaultDatabaseUrl(dataDir: string): string {
  return `sqlite:${join(dataDir, "sluice.db")}`;
}

function sqlitePath(url: string): string | undefined {
  if (url === ":memory:" || url === "sqlite::memory:") return ":memory:";
  if (url.startsWith("sqlite://")) return url.slice("sqlite://".length);
  if (url.startsWith("sqlite:")) return url.slice("sqlite:".length);
  if (url.startsWith("file:")) return url.slice("file:".length);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  return undefined;
}

// PostgreSQL returns int8 as strings; our bigints are times and sizes (< 2^53).
const pgTypes = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as "text");
  },
};

export async function openDatabase(
  url: string,
  options: { onConnectionError?: (error: Error) => void; pool?: PoolOptions } = {},
): Promise<MetadataDb> {
  let db: Kysely<Database>;
  let kind: DatabaseKind;
  let pool: pg.Pool | undefined;
  let checkpointer: Checkpointer | undefined;
  if (/^postgres(ql)?:\/\//i.test(url)) {
    kind = "postgres";
    const { poolSize = 10, statementTimeout = 30, connectTimeout = 5 } = options.pool ?? {};
    pool = new pg.Pool({
      Client: PreparingClient,
      connectionString: url,
      types: pgTypes,
      max: poolSize,
      statement_timeout: statementTimeout * 1000,
      connectionTimeoutMillis: connectTimeout * 1000,
    });
    // An idle connection dropped by the server (restart, failover) must not crash the broker:
    // the pool replaces it, the next query reconnects.
    pool.on("error", (error) => options.onConnectionError?.(error));
    // A checked-out client whose connection the server ends (restart) emits 'error' outside any
    // query; without a listener that would be an uncaught exception. The query in flight fails on its own.
    pool.on("connect", (client) => client.on("error", (error) => options.onConnectionError?.(error)));
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else {
    const path = sqlitePath(url);
    if (path === undefined) {
      throw new SluiceError({
        code: "InvalidConfig",
        status: 500,
        message: "database.url: unsupported scheme (use sqlite: or postgres://)",
      });
    }
    if (path !== ":memory:") mkdirSync(dirname(resolve(path)), { recursive: true });
    // Loaded only for SQLite: a PostgreSQL deployment (AWS Lambda) ships without the native addon.
    const { default: SqliteDatabase } = await import("better-sqlite3");
    const sqlite = new SqliteDatabase(path);
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("busy_timeout = 5000");
    // With WAL, NORMAL syncs at checkpoints: no corruption, a power cut may lose the last commits.
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
    kind = "sqlite";
    if (path !== ":memory:") checkpointer = startCheckpointer(sqlite, resolve(path));
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  }
  const close = async () => {
    await checkpointer?.stop();
    await db.destroy();
  };
  try {
    await migrate(db);
  } catch (error) {
    await close();
    throw new SluiceError({
      code: "DatabaseUnavailable",
      status: 503,
      message: `Cannot open the ${kind} database: ${(error as Error).message}`,
      cause: error,
    });
  }
  return { db, kind, pool, close };
}

/** Statements kept prepared, by SQL text: the queries the broker runs are a small fixed set. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * better-sqlite3 behind Kysely with its prepared statements reused: Kysely
 * prepares every statement it runs, and preparing costs more than running the
 * small statements of a grant. The driver runs one statement at a time on its
 * single connection, so a cached statement is never in use twice. Least
 * recently used statements are dropped past STATEMENT_CACHE_SIZE (an `IN`
 * list of a new length is a new statement).
 */
function withStatementCache(sqlite: SqliteDatabase.Database): KyselySqlite {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement) statements.delete(sql);
      else {
        statement = sqlite.prepare(sql);
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
      }
      statements.set(sql, statement);
      return statement;
    },
    close: () => sqlite.close(),
  };
}

/** Statement names by SQL text, shared by every connection; null: this text stays unnamed. */
const statementNames = new Map<string, string | null>();
/** Past this many texts new ones run unnamed: the names live on every connection of the server. */
const MAX_NAMED_STATEMENTS = 512;
/** SQLSTATE of "cached plan must not change result type" (a migration changed a table under a `select *`). */
const PLAN_RESULT_CHANGED = "0A000";

/**
 * A PostgreSQL client whose parameterised queries (every query Kysely sends
 * with values) run as named statements: the server parses and plans a named
 * statement once per connection and afterwards only binds it, where an
 * unnamed one is parsed and planned on every run. Names are per SQL text, so
 * one name never stands for two texts. A text whose cached plan was broken by
 * a schema change fails once, then runs unnamed.
 */
class PreparingClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: forwards pg's overloaded query signature unchanged
  override query(config: any, values?: any, callback?: any): any {
    const name =
      typeof config === "string" && Array.isArray(values) && values.length > 0 && statementName(config);
    if (!name || callback) return super.query(config, values, callback);
    return super.query({ name, text: config, values }).catch((error: Error & { code?: string }) => {
      if (error.code === PLAN_RESULT_CHANGED) statementNames.set(config, null);
      throw error;
    });
  }
}

function statementName(sql: string): string | null {
  let name = statementNames.get(sql);
  if (name === undefined) {
    if (statementNames.size >= MAX_NAMED_STATEMENTS) return null;
    name = `sluice_${statementNames.size}`;
    statementNames.set(sql, name);
  }
  return name;
}

async function migrate(db: Kysely<Database>): Promise<void> {
  // Unordered: migrations are named by feature and may land in any order; each runs once.
  const migrator = new Migrator({ db, provider: migrationProvider, allowUnorderedMigrations: true });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}

// SQLSTATE classes 08 (connection exception) and 57 (operator intervention: shutdown, restart,
// statement timeout), 53300 (too many connections); node-level refusals; SQLite's busy timeout.
const UNAVAILABLE_CODES = /^(08|57)|^53300$|^ECONNREFUSED$|^ECONNRESET$|^ETIMEDOUT$|^SQLITE_BUSY/;
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/;

/** True when a query failed because the database could not be reached or is restarting: a 503, not a bug. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code === "string" && UNAVAILABLE_CODES.test(code)) return true;
  if (UNAVAILABLE_MESSAGES.test(error.message)) return true;
  return error instanceof AggregateError && error.errors.some(isDatabaseUnavailable);
}
