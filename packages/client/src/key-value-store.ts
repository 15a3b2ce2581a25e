/**
 * Resume records in a string key/value storage under `sluice:upload:<fingerprint>`:
 * the browser's localStorage (synchronous) or React Native's AsyncStorage
 * (promises), passed in as an object so the SDK depends on neither.
 * Expired and corrupt records are dropped on read.
 */
import {
  DEFAULT_RESUME_TTL_MS,
  isResumeRecord,
  type ResumeRecord,
  type ResumeStore,
  type StoredResume,
} from "./resume-state.ts";

/** What localStorage, sessionStorage and @react-native-async-storage/async-storage all provide. */
export interface KeyValueStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
  /** Enumeration, for list(): localStorage's `length` and `key(i)`, or AsyncStorage's getAllKeys(). */
  readonly length?: number;
  key?(index: number): string | null;
  getAllKeys?(): Promise<readonly string[]>;
}

const PREFIX = "sluice:upload:";

export class KeyValueResumeStore implements ResumeStore {
  /** Writes go in call order: with an asynchronous storage an older record must not land after a newer one or after delete(). */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly storage: KeyValueStorage,
    private readonly ttlMs = DEFAULT_RESUME_TTL_MS,
  ) {}

  async get(fingerprint: string): Promise<ResumeRecord | undefined> {
    await this.writes;
    try {
      const parsed: unknown = JSON.parse((await this.storage.getItem(PREFIX + fingerprint)) ?? "null");
      if (isResumeRecord(parsed) && Date.now() - parsed.updatedAt < this.ttlMs) return parsed;
    } catch {
      // corrupt entry (or unreadable storage): forget it below
    }
    await this.delete(fingerprint);
    return undefined;
  }

  /** Empty for a storage that cannot enumerate its keys. */
  async list(): Promise<StoredResume[]> {
    const fingerprints = (await this.keys()).flatMap((key) =>
      key.startsWith(PREFIX) ? [key.slice(PREFIX.length)] : [],
    );
    const records = await Promise.all(fingerprints.map((fingerprint) => this.get(fingerprint)));
    return fingerprints.flatMap((fingerprint, i) => {
      const record = records[i];
      return record ? [{ fingerprint, record }] : [];
    });
  }

  private async keys(): Promise<readonly string[]> {
    await this.writes;
    const { storage } = this;
    try {
      if (storage.getAllKeys) return await storage.getAllKeys();
      if (storage.key && storage.length !== undefined) {
        // Collected before any get(): get() removes bad entries, which renumbers localStorage's keys.
        return Array.from({ length: storage.length }, (_, i) => storage.key!(i) ?? "");
      }
    } catch {
      // unreadable storage: nothing to list
    }
    return [];
  }

  set(fingerprint: string, record: ResumeRecord): Promise<void> {
    return this.write(() => this.storage.setItem(PREFIX + fingerprint, JSON.stringify(record)));
  }

  delete(fingerprint: string): Promise<void> {
    return this.write(() => this.storage.removeItem(PREFIX + fingerprint));
  }

  private write(operation: () => void | Promise<void>): Promise<void> {
    const write = this.writes.then(operation).catch(() => {
      // Quota exceeded or storage disabled: the upload goes on, it just cannot resume.
    });
    this.writes = write;
    return write;
  }
}
