// One set of migrations for SQLite and PostgreSQL, written with Kysely's
// schema builder so the DDL is portable (bigint, text, no dialect-only types).
import type { Kysely, Migration, MigrationProvider } from "kysely";

const migrations: Record<string, Migration> = {
  "0001_initial": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("uploads")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("user_id", "text", (c) => c.notNull())
        .addColumn("profile", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("size", "bigint", (c) => c.notNull())
        .addColumn("sha256", "text")
        .addColumn("key", "text", (c) => c.notNull().unique())
        .addColumn("method", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("reason", "text")
        .addColumn("multipart_id", "text")
        .addColumn("part_size", "bigint")
        .addColumn("part_count", "integer")
        .addColumn("etag", "text")
        .addColumn("detected_type", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("completed_at", "bigint")
        .execute();
      await db.schema
        .createIndex("uploads_owner")
        .on("uploads")
        .columns(["tenant", "user_id", "state", "created_at"])
        .execute();
      await db.schema
        .createIndex("uploads_state_expiry")
        .on("uploads")
        .columns(["state", "expires_at"])
        .execute();

      await db.schema
        .createTable("links")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("upload_id", "text", (c) => c.notNull().references("uploads.id").onDelete("cascade"))
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("user_id", "text", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("max_downloads", "integer")
        .addColumn("uses", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("revoked_at", "bigint")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("api_keys")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("key_hash", "text", (c) => c.notNull().unique())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("user_id", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("revoked_at", "bigint")
        .execute();

      await db.schema
        .createTable("audit_log")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("at", "bigint", (c) => c.notNull())
        .addColumn("tenant", "text")
        .addColumn("user_id", "text")
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("subject", "text")
        .addColumn("ip", "text")
        .addColumn("detail", "text")
        .execute();
      await db.schema.createIndex("audit_log_at").on("audit_log").columns(["tenant", "at"]).execute();

      await db.schema
        .createTable("jobs")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("upload_id", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("run_at", "bigint", (c) => c.notNull())
        .addColumn("locked_until", "bigint")
        .addColumn("last_error", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("jobs_due").on("jobs").columns(["state", "run_at"]).execute();
    },
  },
  "0002_derivatives": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("derivatives")
        .addColumn("upload_id", "text", (c) => c.notNull().references("uploads.id").onDelete("cascade"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("size", "bigint", (c) => c.notNull())
        .addColumn("width", "integer", (c) => c.notNull())
        .addColumn("height", "integer", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("derivatives_pk", ["upload_id", "name"])
        .execute();
    },
  },
  "0008_pipeline": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("checks")
        .addColumn("upload_id", "text", (c) => c.notNull().references("uploads.id").onDelete("cascade"))
        .addColumn("step", "text", (c) => c.notNull())
        .addColumn("position", "integer", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("ms", "bigint")
        .addColumn("detail", "text")
        .addColumn("started_at", "bigint")
        .addColumn("finished_at", "bigint")
        .addPrimaryKeyConstraint("checks_pk", ["upload_id", "step"])
        .execute();
    },
  },
  // Shared rate-limit counters (rateLimits.store: postgres), in rate-limiter-flexible's own layout.
  "0009_rate_limits": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("rate_limits")
        .addColumn("key", "varchar(255)", (c) => c.primaryKey())
        .addColumn("points", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("expire", "bigint")
        .execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
