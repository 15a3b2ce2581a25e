/** Resume records in localStorage under `sluice:upload:<fingerprint>`; expired ones are dropped on read. */
import {
  DEFAULT_RESUME_TTL_MS,
  isResumeRecord,
  type ResumeRecord,
  type ResumeStore,
} from "../resume-state.ts";

const PREFIX = "sluice:upload:";

export class LocalStorageResumeStore implements ResumeStore {
  constructor(
    private readonly storage: Storage,
    private readonly ttlMs = DEFAULT_RESUME_TTL_MS,
  ) {}

  async get(fingerprint: string): Promise<ResumeRecord | undefined> {
    try {
      const parsed: unknown = JSON.parse(this.storage.getItem(PREFIX + fingerprint) ?? "null");
      if (isResumeRecord(parsed) && Date.now() - parsed.updatedAt < this.ttlMs) return parsed;
    } catch {
      // corrupt entry: forget it below
    }
    this.storage.removeItem(PREFIX + fingerprint);
    return undefined;
  }

  async set(fingerprint: string, record: ResumeRecord): Promise<void> {
    try {
      this.storage.setItem(PREFIX + fingerprint, JSON.stringify(record));
    } catch {
      // Quota exceeded or storage disabled: the upload goes on, it just cannot resume.
    }
  }

  async delete(fingerprint: string): Promise<void> {
    this.storage.removeItem(PREFIX + fingerprint);
  }
}
