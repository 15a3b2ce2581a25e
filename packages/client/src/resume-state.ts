/**
 * What is remembered about an unfinished multipart upload so that a later run
 * (another page load, another CLI process) sends only the missing parts.
 * Browsers keep it in IndexedDB (or localStorage), React Native in AsyncStorage,
 * Node in a state file.
 */
export interface ResumeRecord {
  uploadId: string;
  profile: string;
  size: number;
  partSize: number;
  /** partNumber → ETag of parts storage acknowledged. */
  parts: Record<string, string>;
  /** Epoch ms; records older than the store's TTL are ignored. */
  updatedAt: number;
  /**
   * The broker and the file, so an interrupted upload can be listed (and its
   * file recognised) before the file is chosen again. Absent in records written
   * before these fields existed: those resume, but are not listed.
   */
  endpoint?: string;
  name?: string;
  type?: string;
  lastModified?: number;
  path?: string;
}

export interface StoredResume {
  fingerprint: string;
  record: ResumeRecord;
}

export interface ResumeStore {
  get(fingerprint: string): Promise<ResumeRecord | undefined>;
  set(fingerprint: string, record: ResumeRecord): Promise<void>;
  delete(fingerprint: string): Promise<void>;
  /** Every record held, without those get() would refuse (corrupt or expired), which are dropped. */
  list(): Promise<StoredResume[]>;
}

export const DEFAULT_RESUME_TTL_MS = 24 * 3600 * 1000;

export class MemoryResumeStore implements ResumeStore {
  private readonly records = new Map<string, ResumeRecord>();
  async get(fingerprint: string) {
    return this.records.get(fingerprint);
  }
  async set(fingerprint: string, record: ResumeRecord) {
    this.records.set(fingerprint, structuredClone(record));
  }
  async delete(fingerprint: string) {
    this.records.delete(fingerprint);
  }
  async list() {
    return [...this.records].map(([fingerprint, record]) => ({
      fingerprint,
      record: structuredClone(record),
    }));
  }
}

export function isResumeRecord(value: unknown): value is ResumeRecord {
  const r = value as ResumeRecord;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.uploadId === "string" &&
    typeof r.profile === "string" &&
    Number.isSafeInteger(r.size) &&
    Number.isSafeInteger(r.partSize) &&
    typeof r.parts === "object" &&
    r.parts !== null &&
    typeof r.updatedAt === "number" &&
    (r.endpoint === undefined || typeof r.endpoint === "string") &&
    (r.name === undefined || typeof r.name === "string") &&
    (r.type === undefined || typeof r.type === "string") &&
    (r.lastModified === undefined || typeof r.lastModified === "number") &&
    (r.path === undefined || typeof r.path === "string")
  );
}

/** Stable key for "the same file": name, size and modification time (plus the endpoint and profile). */
export function fingerprint(parts: {
  endpoint: string;
  profile: string;
  name: string;
  size: number;
  lastModified?: number;
  path?: string;
}): string {
  const text = [
    parts.endpoint,
    parts.profile,
    parts.path ?? parts.name,
    parts.size,
    parts.lastModified ?? "",
  ].join("\n");
  // FNV-1a 64-bit as two 32-bit halves: short, dependency-free, not security relevant.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x811c9dc5) >>> 0;
  }
  return `${h1.toString(16).padStart(8, "0")}${h2.toString(16).padStart(8, "0")}`;
}
