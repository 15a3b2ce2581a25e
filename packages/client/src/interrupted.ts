/**
 * Interrupted uploads: multipart uploads a resume store remembers for this
 * broker, so a page can show them (paused, until their file is chosen again)
 * after a reload, and a CLI can list them. Entries whose upload the broker no
 * longer keeps open (completed, aborted, expired) are dropped on the way.
 */
import { SluiceError } from "@sluice/core";
import type { BrokerApi } from "./broker-api.ts";
import { partsBytes } from "./part-plan.ts";
import { DEFAULT_RESUME_TTL_MS, type ResumeStore, type StoredResume } from "./resume-state.ts";

export interface InterruptedUpload {
  /** The resume store's key for the file. */
  fingerprint: string;
  uploadId: string;
  profile: string;
  name: string;
  size: number;
  type?: string;
  lastModified?: number;
  /** The file's path (Node). */
  path?: string;
  partSize: number;
  /** Parts storage acknowledged, and their bytes. */
  partsDone: number;
  bytesDone: number;
  /** Epoch ms of the last acknowledged part. */
  updatedAt: number;
}

export interface InterruptedOptions {
  api: BrokerApi;
  store: ResumeStore;
  ttlMs?: number;
}

/** Oldest first; records of other brokers (a shared state directory) are left alone. */
export async function listInterrupted(options: InterruptedOptions): Promise<InterruptedUpload[]> {
  const { api, store } = options;
  const ttl = options.ttlMs ?? DEFAULT_RESUME_TTL_MS;
  const candidates = (await store.list()).filter(({ record }) => record.endpoint === api.endpoint);
  const kept = await Promise.all(
    candidates.map(async (entry) => {
      const state = Date.now() - entry.record.updatedAt >= ttl ? "over" : await brokerState(api, entry);
      if (state === "over") await store.delete(entry.fingerprint);
      return state === "open" ? [toInterrupted(entry)] : [];
    }),
  );
  return kept.flat().sort((a, b) => a.updatedAt - b.updatedAt);
}

/** Aborts the upload on the broker (gone already is fine) and forgets it. */
export async function abortInterrupted(
  options: { api: BrokerApi; store?: ResumeStore },
  upload: Pick<InterruptedUpload, "fingerprint" | "uploadId">,
): Promise<void> {
  try {
    await options.api.abort(upload.uploadId);
  } catch (error) {
    if (!(error instanceof SluiceError && [404, 409, 410].includes(error.status))) throw error;
  }
  await options.store?.delete(upload.fingerprint);
}

/**
 * "over" when the broker says so. An id it does not know for this caller is
 * "unknown", not listed but kept: another user's record in a shared browser
 * must not be deleted by this one (the store's expiry removes it in time).
 */
async function brokerState(api: BrokerApi, entry: StoredResume): Promise<"open" | "over" | "unknown"> {
  try {
    return (await api.getUpload(entry.record.uploadId)).state === "pending" ? "open" : "over";
  } catch (error) {
    if (error instanceof SluiceError && error.status === 410) return "over";
    if (error instanceof SluiceError && [403, 404].includes(error.status)) return "unknown";
    throw error;
  }
}

function toInterrupted({ fingerprint, record }: StoredResume): InterruptedUpload {
  const partNumbers = Object.keys(record.parts).map(Number);
  return {
    fingerprint,
    uploadId: record.uploadId,
    profile: record.profile,
    name: record.name ?? record.uploadId,
    size: record.size,
    type: record.type,
    lastModified: record.lastModified,
    path: record.path,
    partSize: record.partSize,
    partsDone: partNumbers.length,
    bytesDone: partsBytes(partNumbers, record),
    updatedAt: record.updatedAt,
  };
}
