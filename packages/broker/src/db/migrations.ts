// One set of migrations for SQLite and PostgreSQL, written with Kysely's
// schema builder so the DDL is portable (bigint, text, no dialect-only types).
import { type Kysely, type Migration, type MigrationProvider, sql } from "kysely";

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
  "0003_security": {
    async up(db: Kysely<unknown>) {
      // Where the grant writes (quarantine); `key` is where downloads are served from.
      // Rows from before keep writing their own key, so for them both are the same.
      await db.schema
        .alterTable("uploads")
        .addColumn("incoming_key", "text", (c) => c.notNull().defaultTo(""))
        .execute();
      await sql`update uploads set incoming_key = key`.execute(db);
      // One row per user, written first in every transaction that adds to the user's
      // usage: concurrent grants of one user queue on it (uploads/quota.ts).
      await db.schema
        .createTable("quota_locks")
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("user_id", "text", (c) => c.notNull())
        .addColumn("touched_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("quota_locks_pk", ["tenant", "user_id"])
        .execute();
    },
  },
  // Reliability: who holds a job's lease, so a restarting broker takes its own back at once.
  "0004_reliability": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("jobs").addColumn("locked_by", "text").execute();
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
  // GET /v1/files pages straight from an index in their order, (created_at, id) descending, at any
  // file count: the owner index holds the state before created_at, so listing three states needed a
  // sort of all the owner's files. Partial (files only), so pending and expired grants never fill it.
  "0007_performance": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex("uploads_files")
        .on("uploads")
        .columns(["tenant", "user_id", "created_at", "id"])
        // Spelled exactly as listFiles spells it: both planners match a partial index's predicate literally.
        .where(sql<boolean>`state in ('uploaded', 'ready', 'rejected')`)
        .execute();
    },
  },
  "0005_integration": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("uploads").addColumn("metadata", "text").execute();
      await db.schema.alterTable("uploads").addColumn("server_metadata", "text").execute();
      await db.schema
        .alterTable("api_keys")
        .addColumn("scope", "text", (c) => c.notNull().defaultTo("user"))
        .execute();
      await db.schema
        .createTable("upload_metadata")
        .addColumn("upload_id", "text", (c) => c.notNull().references("uploads.id").onDelete("cascade"))
        .addColumn("scope", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("value", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("upload_metadata_pk", ["upload_id", "scope", "key"])
        .execute();
      await db.schema
        .createIndex("upload_metadata_lookup")
        .on("upload_metadata")
        .columns(["scope", "key", "value"])
        .execute();

      await db.schema
        .createTable("webhook_events")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("upload_id", "text", (c) => c.notNull())
        .addColumn("payload", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("webhook_deliveries")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("event_id", "text", (c) => c.notNull().references("webhook_events.id").onDelete("cascade"))
        .addColumn("endpoint", "text", (c) => c.notNull())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("upload_id", "text", (c) => c.notNull())
        .addColumn("order_at", "bigint", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("next_at", "bigint", (c) => c.notNull())
        .addColumn("locked_until", "bigint")
        .addColumn("last_status", "integer")
        .addColumn("last_error", "text")
        .addColumn("last_latency_ms", "integer")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("delivered_at", "bigint")
        .execute();
      await db.schema
        .createIndex("webhook_deliveries_due")
        .on("webhook_deliveries")
        .columns(["state", "next_at"])
        .execute();
      await db.schema
        .createIndex("webhook_deliveries_order")
        .on("webhook_deliveries")
        .columns(["endpoint", "upload_id", "state", "order_at"])
        .execute();
      await db.schema
        .createIndex("webhook_deliveries_log")
        .on("webhook_deliveries")
        .columns(["tenant", "created_at"])
        .execute();
      await db.schema
        .createTable("webhook_attempts")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("delivery_id", "text", (c) =>
          c.notNull().references("webhook_deliveries.id").onDelete("cascade"),
        )
        .addColumn("at", "bigint", (c) => c.notNull())
        .addColumn("status", "integer")
        .addColumn("latency_ms", "integer", (c) => c.notNull())
        .addColumn("error", "text")
        .execute();
      await db.schema
        .createIndex("webhook_attempts_delivery")
        .on("webhook_attempts")
        .columns(["delivery_id", "at"])
        .execute();
      await db.schema
        .createTable("webhook_disabled")
        .addColumn("endpoint", "text", (c) => c.notNull())
        .addColumn("url", "text", (c) => c.notNull())
        .addColumn("at", "bigint", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("webhook_disabled_pk", ["endpoint", "url"])
        .execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
