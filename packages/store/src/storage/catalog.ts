import { join } from "node:path";
import Database from "better-sqlite3";
import { s3Error } from "../errors.ts";
import type { ObjectCreatedEvent, ObjectEvent, ObjectRemovedEvent, StoreEvents } from "../events.ts";
import type { BlobRef } from "./blobs.ts";

/**
 * Where every bucket, object, multipart upload and part is recorded: SQLite
 * (better-sqlite3, WAL, synchronous=FULL) in the data directory.
 *
 * Why SQLite rather than a metadata file per key: a commit is the atomic
 * pointer swap (an object appears whole or not at all, and a reader sees the
 * old or the new version); a conditional write (If-None-Match, If-Match) is
 * checked and applied in one transaction; keys are BLOBs compared with memcmp,
 * which is exactly S3's UTF-8 binary listing order, with an index instead of
 * a scan; and no key ever becomes a file name.
 *
 * Blob files are shared (a whole-object copy references its source's files),
 * so each blob's references are counted in `blob_refs`, in the transaction
 * that adds or drops them: a write hands back for removal only the blobs
 * nothing references any more.
 */

export type Checksums = Partial<Record<"crc32" | "crc32c" | "crc64nvme" | "sha1" | "sha256", string>>;

export interface ObjectRecord {
  bucket: string;
  key: string;
  size: number;
  /** Quoted, as sent in the ETag header. */
  etag: string;
  /** Milliseconds since the epoch. */
  modified: number;
  /** Stored representation headers (content-type, cache-control...) and x-amz-meta-*. */
  headers: Record<string, string>;
  checksums: Checksums;
  blobs: BlobRef[];
  /** Number of parts for a multipart object. */
  parts?: number;
  /** Each part's checksums, in part order, when the multipart object was uploaded with checksums. */
  partChecksums?: Checksums[];
}

/** What a write announces: the event is recorded in the same transaction (outbox) and emitted after it commits. */
export type CreatedBy = Pick<ObjectCreatedEvent, "operation" | "requestId">;
export type RemovedBy = Pick<ObjectRemovedEvent, "operation" | "requestId">;

export interface UploadRecord {
  id: string;
  bucket: string;
  key: string;
  initiated: number;
  headers: Record<string, string>;
  checksumAlgorithm?: string;
}

/** What a completed upload answered, kept a while so a retried Complete gets the same answer. */
export interface CompletedUpload {
  /** The part list the upload was completed with, as `number:etag` entries. */
  parts: string;
  etag: string;
  checksums: Checksums;
}

export type UploadListEntry = { upload: UploadRecord } | { prefix: string };

export interface PartRecord {
  number: number;
  size: number;
  etag: string;
  modified: number;
  blob: string;
  checksums: Checksums;
  /** The blob's wrapped data key when it is encrypted at rest. */
  sse?: string | null;
}

export interface ListOptions {
  bucket: string;
  prefix: string;
  delimiter: string;
  /** Only entries strictly after this position (raw UTF-8 bytes). */
  after?: Buffer;
  maxKeys: number;
}

export interface ListResult {
  entries: Array<{ object: ObjectRecord } | { prefix: string }>;
  truncated: boolean;
  /** Position to resume after, when truncated. */
  next?: Buffer;
}

interface ObjectRow {
  bucket: string;
  key: Buffer;
  size: number;
  etag: string;
  modified: number;
  headers: string;
  checksums: string;
  blobs: string;
  parts: number | null;
  part_checksums: string | null;
}

// UTF-8 never contains the byte 0xFF, so `prefix || 0xFF` is above every key starting with prefix.
const AFTER_ALL = Buffer.from([0xff]);
const LIST_BATCH = 1000;

function toRecord(row: ObjectRow): ObjectRecord {
  return {
    bucket: row.bucket,
    key: row.key.toString("utf8"),
    size: row.size,
    etag: row.etag,
    modified: row.modified,
    headers: JSON.parse(row.headers),
    checksums: JSON.parse(row.checksums),
    blobs: JSON.parse(row.blobs),
    ...(row.parts === null ? {} : { parts: row.parts }),
    ...(row.part_checksums === null ? {} : { partChecksums: JSON.parse(row.part_checksums) }),
  };
}

export class Catalog {
  readonly #db: Database.Database;
  readonly #events: StoreEvents;
  readonly #changeHooks: Array<(event: ObjectEvent) => void> = [];
  /** Events of the transaction in progress, emitted once the outermost one commits. */
  #pending: ObjectEvent[] = [];
  #depth = 0;

  constructor(dataDir: string, events: StoreEvents) {
    this.#events = events;
    this.#db = new Database(join(dataDir, "catalog.sqlite3"));
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = FULL");
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, created INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS objects (
        bucket TEXT NOT NULL, key BLOB NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
        modified INTEGER NOT NULL, headers TEXT NOT NULL, checksums TEXT NOT NULL,
        blobs TEXT NOT NULL, parts INTEGER,
        PRIMARY KEY (bucket, key)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS uploads (
        id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key BLOB NOT NULL, initiated INTEGER NOT NULL,
        headers TEXT NOT NULL, checksum_algorithm TEXT);
      CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, initiated);
      CREATE TABLE IF NOT EXISTS completed_uploads (
        id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key BLOB NOT NULL, parts TEXT NOT NULL,
        etag TEXT NOT NULL, checksums TEXT NOT NULL, completed INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS completed_uploads_by_age ON completed_uploads (completed);
      CREATE TABLE IF NOT EXISTS parts (
        upload_id TEXT NOT NULL, number INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
        modified INTEGER NOT NULL, blob TEXT NOT NULL, checksums TEXT NOT NULL,
        PRIMARY KEY (upload_id, number)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS blob_refs (id TEXT PRIMARY KEY, refs INTEGER NOT NULL) WITHOUT ROWID;
    `);
    if (this.#db.pragma("user_version", { simple: true }) === 0) {
      // A catalog from before shared blobs: every blob is referenced once.
      this.transaction(() => {
        const insert = this.#db.prepare("INSERT OR IGNORE INTO blob_refs (id, refs) VALUES (?, 1)");
        for (const id of this.referencedBlobs()) insert.run(id);
        this.#db.pragma("user_version = 1");
      });
    }
    if (this.#db.pragma("user_version", { simple: true }) === 1) {
      // Parts encrypted at rest keep their wrapped data key.
      this.transaction(() => {
        this.#db.exec("ALTER TABLE parts ADD COLUMN sse TEXT");
        this.#db.pragma("user_version = 2");
      });
    }
    if (this.#db.pragma("user_version", { simple: true }) === 2) {
      // Multipart objects keep their parts' checksums (GetObjectAttributes).
      this.transaction(() => {
        this.#db.exec("ALTER TABLE objects ADD COLUMN part_checksums TEXT");
        this.#db.pragma("user_version = 3");
      });
    }
  }

  /** New references to blobs (fresh or `shared`: then each must still be referenced, or OperationAborted). */
  #reference(blobs: readonly BlobRef[], shared: boolean): void {
    const more = this.#db.prepare("UPDATE blob_refs SET refs = refs + 1 WHERE id = ?");
    const first = this.#db.prepare("INSERT INTO blob_refs (id, refs) VALUES (?, 1)");
    for (const { id } of blobs) {
      if (more.run(id).changes === 1) continue;
      // The source was replaced or deleted while its bytes were read: its files are on their way out.
      if (shared) throw s3Error("OperationAborted");
      first.run(id);
    }
  }

  /** Dropped references; returns the blobs nothing references any more (to retire). */
  #dereference(blobs: readonly BlobRef[]): BlobRef[] {
    const less = this.#db.prepare("UPDATE blob_refs SET refs = refs - 1 WHERE id = ? RETURNING refs");
    const forget = this.#db.prepare("DELETE FROM blob_refs WHERE id = ?");
    const unreferenced: BlobRef[] = [];
    for (const blob of blobs) {
      const row = less.get(blob.id) as { refs: number } | undefined;
      if (row && row.refs > 0) continue;
      forget.run(blob.id);
      unreferenced.push(blob);
    }
    return unreferenced;
  }

  close(): void {
    this.#db.close();
  }

  /**
   * The catalog's own connection, for a concern that keeps a table in the
   * same database and writes it from an `onChange` hook (the notification
   * outbox): another connection would wait on this one's write lock.
   */
  get database(): Database.Database {
    return this.#db;
  }

  /**
   * Runs `hook` inside the transaction of every object write that announces
   * an event: what the hook writes commits or rolls back with the object, and
   * a hook that throws aborts the write. No event can be lost between the two.
   */
  onChange(hook: (event: ObjectEvent) => void): void {
    this.#changeHooks.push(hook);
  }

  /** Runs fn in one transaction (better-sqlite3 is synchronous: nothing interleaves); nested calls are savepoints. */
  transaction<T>(fn: () => T): T {
    const mark = this.#pending.length;
    this.#depth++;
    let result: T;
    try {
      result = this.#db.transaction(fn)();
    } catch (error) {
      this.#pending.length = mark; // rolled back: announce nothing
      throw error;
    } finally {
      this.#depth--;
    }
    if (this.#depth === 0 && this.#pending.length > 0) {
      const committed = this.#pending;
      this.#pending = [];
      for (const event of committed) {
        if ("size" in event) this.#events.emit("objectCreated", event);
        else this.#events.emit("objectRemoved", event);
      }
    }
    return result;
  }

  #announce(event: ObjectEvent): void {
    for (const hook of this.#changeHooks) hook(event);
    this.#pending.push(event);
  }

  /** Every blob id some object or part still references (for the start-up sweep). */
  referencedBlobs(): Set<string> {
    const ids = new Set<string>();
    for (const row of this.#db.prepare("SELECT blobs FROM objects").iterate() as Iterable<{
      blobs: string;
    }>) {
      for (const blob of JSON.parse(row.blobs) as BlobRef[]) ids.add(blob.id);
    }
    for (const row of this.#db.prepare("SELECT blob FROM parts").iterate() as Iterable<{ blob: string }>)
      ids.add(row.blob);
    return ids;
  }

  /**
   * Replaces every wrapped data key (objects' blobs and parts) with
   * `rewrap(old)`, in one transaction; the blob files are not touched.
   * Returns how many keys were re-wrapped.
   */
  rewrapDataKeys(rewrap: (wrapped: string) => string): number {
    return this.transaction(() => {
      let count = 0;
      const objects = this.#db
        .prepare("SELECT bucket, key, blobs FROM objects WHERE blobs LIKE '%\"sse\"%'")
        .all() as Array<{
        bucket: string;
        key: Buffer;
        blobs: string;
      }>;
      const updateObject = this.#db.prepare("UPDATE objects SET blobs = ? WHERE bucket = ? AND key = ?");
      for (const row of objects) {
        const blobs = (JSON.parse(row.blobs) as BlobRef[]).map((blob) => {
          if (!blob.sse) return blob;
          count++;
          return { ...blob, sse: rewrap(blob.sse) };
        });
        updateObject.run(JSON.stringify(blobs), row.bucket, row.key);
      }
      const parts = this.#db
        .prepare("SELECT upload_id, number, sse FROM parts WHERE sse IS NOT NULL")
        .all() as Array<{
        upload_id: string;
        number: number;
        sse: string;
      }>;
      const updatePart = this.#db.prepare("UPDATE parts SET sse = ? WHERE upload_id = ? AND number = ?");
      for (const row of parts) {
        updatePart.run(rewrap(row.sse), row.upload_id, row.number);
        count++;
      }
      return count;
    });
  }

  /** Every wrapped data key still recorded (to know which master keys are in use). */
  wrappedDataKeys(): string[] {
    const keys: string[] = [];
    for (const row of this.#db
      .prepare("SELECT blobs FROM objects WHERE blobs LIKE '%\"sse\"%'")
      .iterate() as Iterable<{
      blobs: string;
    }>) {
      for (const blob of JSON.parse(row.blobs) as BlobRef[]) if (blob.sse) keys.push(blob.sse);
    }
    for (const row of this.#db.prepare("SELECT sse FROM parts WHERE sse IS NOT NULL").iterate() as Iterable<{
      sse: string;
    }>)
      keys.push(row.sse);
    return keys;
  }

  // ---------------------------------------------------------------- buckets

  createBucket(name: string, now: number): void {
    const result = this.#db
      .prepare("INSERT OR IGNORE INTO buckets (name, created) VALUES (?, ?)")
      .run(name, now);
    if (result.changes === 0) throw s3Error("BucketAlreadyOwnedByYou");
  }

  hasBucket(name: string): boolean {
    return this.#db.prepare("SELECT 1 FROM buckets WHERE name = ?").get(name) !== undefined;
  }

  requireBucket(name: string): void {
    if (!this.hasBucket(name)) throw s3Error("NoSuchBucket");
  }

  listBuckets(): Array<{ name: string; created: number }> {
    return this.#db.prepare("SELECT name, created FROM buckets ORDER BY name").all() as Array<{
      name: string;
      created: number;
    }>;
  }

  /** Deletes an empty bucket; its unfinished uploads go with it. Returns the blobs to retire. */
  deleteBucket(name: string): BlobRef[] {
    return this.transaction(() => {
      this.requireBucket(name);
      if (this.#db.prepare("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1").get(name))
        throw s3Error("BucketNotEmpty");
      const retired: BlobRef[] = [];
      for (const { id } of this.#db.prepare("SELECT id FROM uploads WHERE bucket = ?").all(name) as Array<{
        id: string;
      }>) {
        retired.push(...this.#deleteUpload(id));
      }
      this.#db.prepare("DELETE FROM buckets WHERE name = ?").run(name);
      return retired;
    });
  }

  // ---------------------------------------------------------------- objects

  getObject(bucket: string, key: string): ObjectRecord | undefined {
    const row = this.#db
      .prepare("SELECT * FROM objects WHERE bucket = ? AND key = ?")
      .get(bucket, Buffer.from(key, "utf8")) as ObjectRow | undefined;
    return row && toRecord(row);
  }

  /**
   * Commits an object version: checks the bucket and the precondition against
   * the current version, then swaps the pointer and records the event, if
   * any, in the same transaction. Returns the blobs no longer referenced.
   * `shared`: the record's blobs are another object's (a copy), which must
   * still reference them.
   */
  putObject(
    record: ObjectRecord,
    options: {
      precondition?: (current: ObjectRecord | undefined) => void;
      announce?: CreatedBy;
      shared?: boolean;
    } = {},
  ): BlobRef[] {
    return this.transaction(() => {
      this.requireBucket(record.bucket);
      const current = this.getObject(record.bucket, record.key);
      options.precondition?.(current);
      this.#db
        .prepare(
          "INSERT OR REPLACE INTO objects (bucket, key, size, etag, modified, headers, checksums, blobs, parts, part_checksums) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .run(
          record.bucket,
          Buffer.from(record.key, "utf8"),
          record.size,
          record.etag,
          record.modified,
          JSON.stringify(record.headers),
          JSON.stringify(record.checksums),
          JSON.stringify(record.blobs),
          record.parts ?? null,
          record.partChecksums ? JSON.stringify(record.partChecksums) : null,
        );
      if (options.announce)
        this.#announce({
          bucket: record.bucket,
          key: record.key,
          size: record.size,
          etag: record.etag,
          ...options.announce,
        });
      this.#reference(record.blobs, options.shared ?? false);
      return this.#dereference(current?.blobs ?? []);
    });
  }

  /** Removes an object and records the event in the same transaction; returns the blobs to retire, or undefined when there was none. */
  deleteObject(options: { bucket: string; key: string; announce: RemovedBy }): BlobRef[] | undefined {
    const { bucket, key } = options;
    return this.transaction(() => {
      const current = this.getObject(bucket, key);
      if (!current) return undefined;
      this.#db
        .prepare("DELETE FROM objects WHERE bucket = ? AND key = ?")
        .run(bucket, Buffer.from(key, "utf8"));
      this.#announce({ bucket, key, ...options.announce });
      return this.#dereference(current.blobs);
    });
  }

  /**
   * Lists in UTF-8 binary order, rolling keys that contain the delimiter after
   * the prefix into common prefixes (each counted once against maxKeys).
   */
  list(options: ListOptions): ListResult {
    const prefix = Buffer.from(options.prefix, "utf8");
    const upper = Buffer.concat([prefix, AFTER_ALL]);
    const gt = this.#db.prepare(
      "SELECT * FROM objects WHERE bucket = ? AND key > ? AND key < ? ORDER BY key LIMIT ?",
    );
    const gte = this.#db.prepare(
      "SELECT * FROM objects WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?",
    );
    const entries: ListResult["entries"] = [];
    let cursor = options.after && Buffer.compare(options.after, prefix) >= 0 ? options.after : undefined;
    let last: Buffer | undefined;
    for (;;) {
      const limit = Math.min(LIST_BATCH, options.maxKeys - entries.length + 1);
      const rows = (
        cursor ? gt.all(options.bucket, cursor, upper, limit) : gte.all(options.bucket, prefix, upper, limit)
      ) as ObjectRow[];
      if (rows.length === 0) return { entries, truncated: false };
      let rolledUp = false;
      for (const row of rows) {
        if (entries.length === options.maxKeys)
          return { entries, truncated: true, ...(last ? { next: last } : {}) };
        const rest = row.key.subarray(prefix.length).toString("utf8");
        const at = options.delimiter ? rest.indexOf(options.delimiter) : -1;
        if (at >= 0) {
          const common = options.prefix + rest.slice(0, at + options.delimiter.length);
          entries.push({ prefix: common });
          // Skip every other key under this common prefix.
          last = Buffer.concat([Buffer.from(common, "utf8"), AFTER_ALL]);
          cursor = last;
          rolledUp = true;
          break;
        }
        entries.push({ object: toRecord(row) });
        last = row.key;
        cursor = row.key;
      }
      if (!rolledUp && rows.length < limit) return { entries, truncated: false };
    }
  }

  // ---------------------------------------------------------------- multipart

  createUpload(upload: UploadRecord): void {
    this.transaction(() => {
      this.requireBucket(upload.bucket);
      this.#db
        .prepare(
          "INSERT INTO uploads (id, bucket, key, initiated, headers, checksum_algorithm) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .run(
          upload.id,
          upload.bucket,
          Buffer.from(upload.key, "utf8"),
          upload.initiated,
          JSON.stringify(upload.headers),
          upload.checksumAlgorithm ?? null,
        );
    });
  }

  /** The upload, which must belong to this bucket and key, or NoSuchUpload. */
  getUpload(bucket: string, key: string, id: string): UploadRecord {
    const row = this.#db.prepare("SELECT * FROM uploads WHERE id = ?").get(id) as
      | {
          id: string;
          bucket: string;
          key: Buffer;
          initiated: number;
          headers: string;
          checksum_algorithm: string | null;
        }
      | undefined;
    if (!row || row.bucket !== bucket || row.key.toString("utf8") !== key) throw s3Error("NoSuchUpload");
    return {
      id: row.id,
      bucket: row.bucket,
      key: row.key.toString("utf8"),
      initiated: row.initiated,
      headers: JSON.parse(row.headers),
      ...(row.checksum_algorithm ? { checksumAlgorithm: row.checksum_algorithm } : {}),
    };
  }

  /** Records a part (replacing one with the same number; `shared`: its blob is an object's); returns the blobs to retire. */
  putPart(options: {
    bucket: string;
    key: string;
    uploadId: string;
    part: PartRecord;
    shared?: boolean;
  }): BlobRef[] {
    const { part } = options;
    return this.transaction(() => {
      this.getUpload(options.bucket, options.key, options.uploadId);
      const old = this.#db
        .prepare("SELECT blob, size FROM parts WHERE upload_id = ? AND number = ?")
        .get(options.uploadId, part.number) as { blob: string; size: number } | undefined;
      this.#db
        .prepare(
          "INSERT OR REPLACE INTO parts (upload_id, number, size, etag, modified, blob, checksums, sse) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .run(
          options.uploadId,
          part.number,
          part.size,
          part.etag,
          part.modified,
          part.blob,
          JSON.stringify(part.checksums),
          part.sse ?? null,
        );
      this.#reference([{ id: part.blob, size: part.size }], options.shared ?? false);
      return this.#dereference(old ? [{ id: old.blob, size: old.size }] : []);
    });
  }

  /** Parts after `marker`, ascending, at most `limit`. */
  listParts(uploadId: string, marker: number, limit: number): PartRecord[] {
    const rows = this.#db
      .prepare("SELECT * FROM parts WHERE upload_id = ? AND number > ? ORDER BY number LIMIT ?")
      .all(uploadId, marker, limit) as Array<Omit<PartRecord, "checksums"> & { checksums: string }>;
    return rows.map((row) => ({ ...row, checksums: JSON.parse(row.checksums) }));
  }

  /**
   * Unfinished uploads of a bucket in (key, initiated) order, as S3 lists
   * them: keys after `keyMarker` (or, with `uploadIdMarker`, that key's
   * uploads after that one), keys containing `delimiter` after the prefix
   * rolled into common prefixes, each counted against `limit`.
   */
  listUploads(options: {
    bucket: string;
    prefix: string;
    delimiter?: string;
    keyMarker: string;
    uploadIdMarker: string;
    limit: number;
  }): { entries: UploadListEntry[]; truncated: boolean } {
    const { prefix, keyMarker, delimiter = "" } = options;
    const prefixBytes = Buffer.from(prefix, "utf8");
    const markerBytes = Buffer.from(keyMarker, "utf8");
    const lower = Buffer.compare(prefixBytes, markerBytes) > 0 ? prefixBytes : markerBytes;
    const rows = this.#db
      .prepare(
        "SELECT id, key, initiated, headers FROM uploads WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key, initiated, id",
      )
      .iterate(options.bucket, lower, Buffer.concat([prefixBytes, AFTER_ALL])) as Iterable<{
      id: string;
      key: Buffer;
      initiated: number;
      headers: string;
    }>;
    const entries: UploadListEntry[] = [];
    let passedMarker = false;
    let lastPrefix: string | undefined;
    for (const row of rows) {
      const key = row.key.toString("utf8");
      if (keyMarker !== "" && key === keyMarker) {
        // The marker's own key: only its uploads after the upload-id marker (none without one).
        if (!passedMarker) {
          passedMarker = row.id === options.uploadIdMarker;
          continue;
        }
      }
      const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      const common = at >= 0 ? key.slice(0, at + delimiter.length) : undefined;
      // A common prefix is listed once, and not again on the page after it (the marker is then that prefix).
      if (
        common !== undefined &&
        (common === lastPrefix || Buffer.compare(Buffer.from(common, "utf8"), markerBytes) <= 0)
      )
        continue;
      if (entries.length === options.limit) return { entries, truncated: true };
      if (common !== undefined) {
        entries.push({ prefix: common });
        lastPrefix = common;
        continue;
      }
      entries.push({
        upload: {
          id: row.id,
          bucket: options.bucket,
          key,
          initiated: row.initiated,
          headers: JSON.parse(row.headers),
        },
      });
    }
    return { entries, truncated: false };
  }

  /** Deletes an upload and its part rows; returns the part blobs to retire. */
  abortUpload(bucket: string, key: string, id: string): BlobRef[] {
    return this.transaction(() => {
      this.getUpload(bucket, key, id);
      return this.#deleteUpload(id);
    });
  }

  /**
   * Completes an upload in one transaction: the chosen parts become the
   * object's blobs (no byte is copied), the others are returned for retiring.
   * The answer is remembered for `keepMs` (see completedUpload); older
   * answers are forgotten.
   */
  completeUpload(options: {
    upload: UploadRecord;
    build: (parts: Map<number, PartRecord>) => { object: ObjectRecord; parts: string };
    precondition: (current: ObjectRecord | undefined) => void;
    requestId: string;
    keepMs: number;
  }): { object: ObjectRecord; retired: BlobRef[] } {
    const { upload } = options;
    return this.transaction(() => {
      this.getUpload(upload.bucket, upload.key, upload.id);
      const parts = new Map(this.listParts(upload.id, 0, 10_000).map((part) => [part.number, part]));
      const built = options.build(parts);
      const object = built.object;
      const replaced = this.putObject(object, {
        precondition: options.precondition,
        announce: { operation: "CompleteMultipartUpload", requestId: options.requestId },
      });
      // The chosen parts' references move to the object; the others are dropped.
      const unused = this.#deleteUpload(upload.id);
      this.#db
        .prepare("DELETE FROM completed_uploads WHERE completed < ?")
        .run(object.modified - options.keepMs);
      this.#db
        .prepare(
          "INSERT INTO completed_uploads (id, bucket, key, parts, etag, checksums, completed) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .run(
          upload.id,
          upload.bucket,
          Buffer.from(upload.key, "utf8"),
          built.parts,
          object.etag,
          JSON.stringify(object.checksums),
          object.modified,
        );
      return { object, retired: [...replaced, ...unused] };
    });
  }

  /** What an upload of this bucket and key answered when completed less than `keepMs` ago, if it was. */
  completedUpload(options: {
    bucket: string;
    key: string;
    id: string;
    keepMs: number;
  }): CompletedUpload | undefined {
    const row = this.#db
      .prepare(
        "SELECT parts, etag, checksums FROM completed_uploads WHERE id = ? AND bucket = ? AND key = ? AND completed >= ?",
      )
      .get(options.id, options.bucket, Buffer.from(options.key, "utf8"), Date.now() - options.keepMs) as
      | { parts: string; etag: string; checksums: string }
      | undefined;
    return row && { parts: row.parts, etag: row.etag, checksums: JSON.parse(row.checksums) };
  }

  #deleteUpload(id: string): BlobRef[] {
    const parts = this.#db.prepare("SELECT blob, size FROM parts WHERE upload_id = ?").all(id) as Array<{
      blob: string;
      size: number;
    }>;
    this.#db.prepare("DELETE FROM parts WHERE upload_id = ?").run(id);
    this.#db.prepare("DELETE FROM uploads WHERE id = ?").run(id);
    return this.#dereference(parts.map((part) => ({ id: part.blob, size: part.size })));
  }
}
