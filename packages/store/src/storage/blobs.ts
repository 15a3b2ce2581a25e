import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable, type Transform, type Writable } from "node:stream";
import { decryptRange, encryptingStream, MasterKeys, newDataKey } from "./encryption.ts";

/** One stored byte run: a whole PUT body or one multipart part. */
export interface BlobRef {
  id: string;
  /** Plaintext bytes. */
  size: number;
  /** Encrypted at rest: its data key, wrapped by a master key (encryption.ts). */
  sse?: string;
}

/** A blob being written: pipe the plaintext into `sink()`, then reference `ref(size)`. */
export interface NewBlob {
  id: string;
  path: string;
  /** The stages the plaintext goes through: sealing (when encrypted), then the file. */
  sink(): [Transform, Writable] | [Writable];
  ref(size: number): BlobRef;
}

/**
 * Immutable files named by random ids, never by key, so no key can reach a
 * path outside the data directory. An object is a list of blobs (a multipart
 * object keeps its part files: completing copies nothing).
 *
 * A blob that is no longer referenced is "retired": unlinked at once, or, when
 * a GET is still streaming it, when the last reader releases its lease. So a
 * read that started before an overwrite or delete finishes with the old bytes.
 */
export class BlobStore {
  readonly #dir: string;
  readonly #leases = new Map<string, number>();
  readonly #retiredWhileLeased = new Set<string>();
  readonly keys: MasterKeys;

  constructor(dataDir: string) {
    this.#dir = join(dataDir, "blobs");
    this.keys = new MasterKeys(dataDir);
  }

  path(id: string): string {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new Error("invalid blob id");
    return join(this.#dir, id.slice(0, 2), id);
  }

  /** A new, empty, exclusively created blob file; `encrypted`: sealed under a fresh data key. */
  async create(options: { encrypted?: boolean } = {}): Promise<NewBlob> {
    const id = randomBytes(16).toString("hex");
    const path = this.path(id);
    await mkdir(join(this.#dir, id.slice(0, 2)), { recursive: true });
    const dataKey = options.encrypted ? newDataKey() : undefined;
    const sse = dataKey ? this.keys.wrap(dataKey) : undefined;
    return {
      id,
      path,
      sink: () => {
        const file = createWriteStream(path, { flags: "wx" });
        return dataKey ? [encryptingStream(dataKey), file] : [file];
      },
      ref: (size) => (sse ? { id, size, sse } : { id, size }),
    };
  }

  /** Flushes a written blob and its directory entry to disk before it is referenced. */
  async sync(id: string): Promise<void> {
    for (const target of [this.path(id), join(this.#dir, id.slice(0, 2))]) {
      const handle = await open(target, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }

  /** Keeps blobs on disk until the returned release is called (once). */
  lease(blobs: readonly BlobRef[]): () => void {
    for (const { id } of blobs) this.#leases.set(id, (this.#leases.get(id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const { id } of blobs) {
        const left = (this.#leases.get(id) ?? 1) - 1;
        if (left > 0) this.#leases.set(id, left);
        else {
          this.#leases.delete(id);
          if (this.#retiredWhileLeased.delete(id)) this.#unlink(id);
        }
      }
    };
  }

  /** The blobs are no longer referenced: remove them once no reader holds them. */
  retire(blobs: readonly BlobRef[]): void {
    for (const { id } of blobs) {
      if (this.#leases.has(id)) this.#retiredWhileLeased.add(id);
      else this.#unlink(id);
    }
  }

  #unlink(id: string): void {
    // A failed unlink leaves an orphan that the start-up sweep removes.
    unlink(this.path(id)).catch(() => {});
  }

  /**
   * Streams bytes [start, end] (inclusive) of the concatenated blobs, one file
   * at a time, with the file streams' own backpressure.
   */
  read(blobs: readonly BlobRef[], range: { start: number; end: number }): Readable {
    const parts = blobs.map((blob) => ({ path: this.path(blob.id), size: blob.size, sse: blob.sse }));
    const keys = this.keys;
    async function* chunks() {
      let offset = 0;
      for (const { path, size, sse } of parts) {
        const first = Math.max(range.start - offset, 0);
        const last = Math.min(range.end - offset, size - 1);
        offset += size;
        if (first > last) continue;
        if (!sse) {
          yield* createReadStream(path, { start: first, end: last, highWaterMark: 256 * 1024 });
          continue;
        }
        const file = await open(path, "r");
        try {
          yield* decryptRange({ file, dataKey: keys.unwrap(sse), size, first, last });
        } finally {
          await file.close();
        }
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  /** Removes blobs left by a crash: written but never referenced, or retired but not yet unlinked. */
  async sweep(isReferenced: (id: string) => boolean): Promise<number> {
    let removed = 0;
    await mkdir(this.#dir, { recursive: true });
    for (const shard of await readdir(this.#dir)) {
      for (const id of await readdir(join(this.#dir, shard))) {
        if (isReferenced(id)) continue;
        await rm(join(this.#dir, shard, id), { force: true });
        removed++;
      }
    }
    return removed;
  }
}
