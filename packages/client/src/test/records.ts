import type { ResumeRecord } from "../resume-state.ts";

/** A valid resume record for store tests, updated now unless overridden. */
export function sampleRecord(overrides: Partial<ResumeRecord> = {}): ResumeRecord {
  return {
    uploadId: "u1",
    profile: "default",
    size: 10,
    partSize: 5,
    parts: { "1": '"etag"' },
    updatedAt: Date.now(),
    ...overrides,
  };
}
