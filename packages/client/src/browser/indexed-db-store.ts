/**
 * Resume records in IndexedDB: database "sluice", object store "uploads",
 * keyed by fingerprint. Unlike localStorage it is not limited to a few MiB
 * per origin and does not block the page on writes. Expired and corrupt
 * records are dropped when read, and all of them once per page when the
 * database is opened, so abandoned uploads do not pile up.
 */
import {
  DEFAULT_RESUME_TTL_MS,
  isResumeRecord,
  type ResumeRecord,
  type ResumeStore,
  type StoredResume,
} from "../resume-state.ts";

export interface IndexedDbResumeStoreOptions {
  /** Default: globalThis.indexedDB. */
  indexedDB?: IDBFactory;
  /** Default "sluice". */
  database?: string;
  ttlMs?: number;
  /**
   * Used when the database cannot be opened (some private modes refuse
   * IndexedDB); without one, uploads simply do not resume.
   */
  fallback?: ResumeStore;
}

const UPLOADS = "uploads";

export class IndexedDbResumeStore implements ResumeStore {
  private readonly factory: IDBFactory;
  private readonly database: string;
  private readonly ttlMs: number;
  private readonly fallback: ResumeStore | undefined;
  private opened: Promise<IDBDatabase | undefined> | undefined;

  constructor(options: IndexedDbResumeStoreOptions = {}) {
    this.factory = options.indexedDB ?? indexedDB;
    this.database = options.database ?? "sluice";
    this.ttlMs = options.ttlMs ?? DEFAULT_RESUME_TTL_MS;
    this.fallback = options.fallback;
  }

  async get(fingerprint: string): Promise<ResumeRecord | undefined> {
    const db = await this.open();
    if (!db) return this.fallback?.get(fingerprint);
    try {
      const value: unknown = await settled(db.transaction(UPLOADS).objectStore(UPLOADS).get(fingerprint));
      if (this.fresh(value)) return value;
    } catch {
      // unreadable: forget it below
    }
    await this.delete(fingerprint);
    return undefined;
  }

  async set(fingerprint: string, record: ResumeRecord): Promise<void> {
    const db = await this.open();
    if (!db) return this.fallback?.set(fingerprint, record);
    await change(db, (uploads) => uploads.put(record, fingerprint));
  }

  async delete(fingerprint: string): Promise<void> {
    const db = await this.open();
    if (!db) return this.fallback?.delete(fingerprint);
    await change(db, (uploads) => uploads.delete(fingerprint));
  }

  /** Fresh records; the others are deleted in the same transaction. */
  async list(): Promise<StoredResume[]> {
    const db = await this.open();
    if (!db) return (await this.fallback?.list()) ?? [];
    const listed: StoredResume[] = [];
    await change(db, (uploads) =>
      this.eachRecord(uploads, (fingerprint, record) => {
        listed.push({ fingerprint, record });
      }),
    );
    return listed;
  }

  private fresh(value: unknown): value is ResumeRecord {
    return isResumeRecord(value) && Date.now() - value.updatedAt < this.ttlMs;
  }

  private open(): Promise<IDBDatabase | undefined> {
    this.opened ??= new Promise<IDBDatabase | undefined>((resolve) => {
      try {
        const request = this.factory.open(this.database, 1);
        request.onupgradeneeded = () => request.result.createObjectStore(UPLOADS);
        request.onerror = () => resolve(undefined);
        request.onblocked = () => resolve(undefined);
        request.onsuccess = () => {
          const db = request.result;
          // Another tab upgrading the database: let it, and reopen on the next call.
          db.onversionchange = () => {
            db.close();
            this.opened = undefined;
          };
          this.sweep(db);
          resolve(db);
        };
      } catch {
        // SecurityError in opaque origins (sandboxed frames, data: URLs)
        resolve(undefined);
      }
    });
    return this.opened;
  }

  /** Deletes every expired or corrupt record; best effort, nobody waits for it. */
  private sweep(db: IDBDatabase): void {
    void change(db, (uploads) => this.eachRecord(uploads, () => {}));
  }

  /** Walks the store in a readwrite transaction: fresh records go to `visit`, the others are deleted. */
  private eachRecord(uploads: IDBObjectStore, visit: (fingerprint: string, record: ResumeRecord) => void) {
    const cursor = uploads.openCursor();
    cursor.onsuccess = () => {
      const current = cursor.result;
      if (!current) return;
      if (this.fresh(current.value)) visit(String(current.key), current.value);
      else current.delete();
      current.continue();
    };
  }
}

/** Resolves when the transaction committed, so a reload right after still finds the record. */
async function change(db: IDBDatabase, apply: (uploads: IDBObjectStore) => void): Promise<void> {
  try {
    const transaction = db.transaction(UPLOADS, "readwrite");
    apply(transaction.objectStore(UPLOADS));
    await committed(transaction);
  } catch {
    // Quota exceeded or the database went away: the upload goes on, it just cannot resume.
  }
}

function settled<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function committed(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}
