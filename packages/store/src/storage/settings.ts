import { join } from "node:path";
import Database from "better-sqlite3";

/**
 * Opens another connection to the catalog's SQLite file for a concern that
 * keeps its own table there (bucket settings, the notification outbox), so
 * the whole store stays one database to back up.
 */
export function openCatalogDatabase(dataDir: string): Database.Database {
  const db = new Database(join(dataDir, "catalog.sqlite3"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  return db;
}

/** The per-bucket configurations set through S3 sub-resources. */
export type SettingName = "acl" | "cors" | "lifecycle" | "notification";

/**
 * Bucket sub-resource configurations (?acl, ?cors, ?lifecycle,
 * ?notification) as JSON values in the `bucket_settings` table. A bucket's
 * settings are cleared when it is created or deleted, so a re-created bucket
 * never inherits them.
 */
export class BucketSettings {
  readonly #db: Database.Database;
  readonly #get: Database.Statement<[string, string], { value: string }>;
  // Read on every request (CORS, ACLs): parsed values are cached, invalidated on write.
  readonly #cache = new Map<string, unknown>();

  constructor(dataDir: string) {
    this.#db = openCatalogDatabase(dataDir);
    this.#db.exec(`CREATE TABLE IF NOT EXISTS bucket_settings (
      bucket TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
      PRIMARY KEY (bucket, name)) WITHOUT ROWID;`);
    this.#get = this.#db.prepare("SELECT value FROM bucket_settings WHERE bucket = ? AND name = ?");
  }

  get<T>(bucket: string, name: SettingName): T | undefined {
    const cacheKey = `${name}\n${bucket}`;
    if (this.#cache.has(cacheKey)) return this.#cache.get(cacheKey) as T | undefined;
    const row = this.#get.get(bucket, name);
    const value = row ? (JSON.parse(row.value) as T) : undefined;
    this.#cache.set(cacheKey, value);
    return value;
  }

  set(bucket: string, name: SettingName, value: unknown): void {
    this.#db
      .prepare("INSERT OR REPLACE INTO bucket_settings (bucket, name, value) VALUES (?, ?, ?)")
      .run(bucket, name, JSON.stringify(value));
    this.#cache.delete(`${name}\n${bucket}`);
  }

  delete(bucket: string, name: SettingName): void {
    this.#db.prepare("DELETE FROM bucket_settings WHERE bucket = ? AND name = ?").run(bucket, name);
    this.#cache.delete(`${name}\n${bucket}`);
  }

  /** Forgets every setting of a bucket (it was just created or deleted). */
  clear(bucket: string): void {
    this.#db.prepare("DELETE FROM bucket_settings WHERE bucket = ?").run(bucket);
    this.#cache.clear();
  }

  /** Buckets that have a given setting (the lifecycle sweeper's work list). */
  bucketsWith(name: SettingName): string[] {
    return (
      this.#db
        .prepare("SELECT bucket FROM bucket_settings WHERE name = ? ORDER BY bucket")
        .all(name) as Array<{
        bucket: string;
      }>
    ).map((row) => row.bucket);
  }

  close(): void {
    this.#db.close();
  }
}
