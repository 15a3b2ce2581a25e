/**
 * Multipart sender: parts go in parallel through a fixed pool of workers;
 * each part is read once into memory, sent with retries, and recorded in the
 * resume state as soon as storage acknowledges it. Memory stays about
 * partSize × concurrency.
 */
import { SluiceError } from "@sluice/core";
import type { Body } from "../body.ts";
import type { UploadGrant, UploadRecord } from "../broker-api.ts";
import { BufferPool } from "../buffer-pool.ts";
import { type PartRange, planParts } from "../part-plan.ts";
import type { ResumeRecord } from "../resume-state.ts";
import { withRetries } from "../retry.ts";
import { storageRequest } from "../storage-request.ts";
import type { UploadContext } from "./context.ts";
import { PartUrls } from "./part-urls.ts";

export interface MultipartState {
  uploadId: string;
  partSize: number;
  /** partNumber → ETag of acknowledged parts; survives pause/resume within a process. */
  done: Map<number, string>;
  /** Signed part URLs, kept across pause/resume (they may expire meanwhile: then they are re-signed). */
  urls?: PartUrls;
  /** Parts read but not yet acknowledged: reused after a pause, since a stream cannot be read twice. */
  bodies: Map<number, { body: Body; pooled: boolean }>;
  /** Part buffers, recycled once storage has a part. */
  pool: BufferPool;
}

export function initialMultipartState(grant: UploadGrant): MultipartState {
  if (!grant.multipart)
    throw new SluiceError({ code: "InvalidGrant", status: 502, message: "Not a multipart grant" });
  return {
    uploadId: grant.upload.id,
    partSize: grant.multipart.partSize,
    done: new Map(),
    bodies: new Map(),
    pool: new BufferPool(),
  };
}

/** Sends every part not yet in `state.done`; resolves with the part list for completion. */
export async function sendParts(
  context: UploadContext,
  state: MultipartState,
): Promise<Array<{ partNumber: number; etag: string }>> {
  const { source, signal } = context;
  const plan = planParts(source.size, state.partSize);
  const queue: PartRange[] = plan.filter((part) => !state.done.has(part.partNumber));
  state.urls ??= new PartUrls({
    api: context.api,
    uploadId: state.uploadId,
    batchSize: Math.max(4, context.concurrency * 2),
  });
  const urls = state.urls;
  urls.upcoming = () => queue.map((part) => part.partNumber);
  // Remembered before the first part: a run killed at any point after the grant finds its upload again.
  await persist(context, state);

  const worker = async () => {
    for (let part = queue.shift(); part; part = queue.shift()) {
      if (signal.aborted) break;
      const etag = await sendPart(context, { part, urls, state });
      state.done.set(part.partNumber, etag);
      await persist(context, state);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(context.concurrency, queue.length)) }, worker);
  // Let every worker settle before reporting, so no request outlives the run.
  const results = await Promise.allSettled(workers);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
  if (signal.aborted) throw new SluiceError({ code: "Aborted", status: 499, message: "Upload aborted" });
  return plan.map((part) => ({ partNumber: part.partNumber, etag: state.done.get(part.partNumber)! }));
}

async function sendPart(
  context: UploadContext,
  options: { part: PartRange; urls: PartUrls; state: MultipartState },
): Promise<string> {
  const { part, urls, state } = options;
  let read = state.bodies.get(part.partNumber);
  if (!read) {
    const buffer = state.pool.acquire(part.end - part.start);
    const body = await context.source.readPart(part.start, part.end, buffer);
    if (body !== buffer) state.pool.release(buffer);
    read = { body, pooled: body === buffer };
    state.bodies.set(part.partNumber, read);
  }
  const { body } = read;
  const etag = await withRetries({
    policy: context.retry,
    signal: context.signal,
    onResign: async () => urls.invalidate(part.partNumber),
    onRetry: (error, attempt) =>
      context.onRetry?.({ partNumber: part.partNumber, code: error.code, attempt }),
    attempt: async () => {
      const signed = await urls.get(part.partNumber, context.signal);
      const response = await storageRequest({
        transport: context.transport,
        method: "PUT",
        url: signed.url,
        headers: signed.headers,
        body,
        signal: context.signal,
        meter: context.meter,
      });
      // Read the (empty) body so the connection goes back to the pool.
      await response.text();
      const tag = response.headers.etag;
      if (!tag) {
        throw new SluiceError({
          code: "MissingETag",
          status: 502,
          message:
            "Storage did not return an ETag for a part; with a browser, expose ETag in the bucket CORS rules",
        });
      }
      return tag;
    },
  });
  urls.release(part.partNumber);
  state.bodies.delete(part.partNumber);
  if (read.pooled) state.pool.release(body as Uint8Array);
  return etag;
}

async function persist(context: UploadContext, state: MultipartState): Promise<void> {
  if (!context.resume) return;
  const record: ResumeRecord = {
    uploadId: state.uploadId,
    profile: context.profile,
    size: context.source.size,
    partSize: state.partSize,
    parts: Object.fromEntries([...state.done].map(([n, etag]) => [String(n), etag])),
    updatedAt: Date.now(),
    endpoint: context.api.endpoint,
    name: context.source.name,
    type: context.source.type,
    ...context.source.identity,
  };
  await context.resume.store.set(context.resume.fingerprint, record);
}

/**
 * Rebuilds the state of an unfinished upload from what storage actually
 * holds (not only from what we remember: a part may have landed after the
 * process died). An upload the broker already completed (the run was killed
 * while it answered) is finished as it is. Undefined when the upload can no
 * longer be resumed.
 */
export async function resumeMultipart(
  context: UploadContext,
  record: ResumeRecord,
): Promise<MultipartState | { finished: UploadRecord } | undefined> {
  if (record.size !== context.source.size || record.profile !== context.profile) return undefined;
  try {
    const upload = await context.api.getUpload(record.uploadId);
    if (upload.state === "uploaded" || upload.state === "ready") return { finished: upload };
    if (upload.state !== "pending") return undefined;
    const plan = planParts(record.size, record.partSize);
    const done = new Map<number, string>();
    if (plan.every((part) => record.parts[String(part.partNumber)])) {
      // Storage acknowledged every part: only completion is left (and storage may
      // have completed it already, which the broker's completion checks).
      for (const part of plan) done.set(part.partNumber, record.parts[String(part.partNumber)]!);
    } else {
      for (const part of await context.api.listParts(record.uploadId, context.signal)) {
        const expected = plan[part.partNumber - 1];
        // A part of the wrong size (say, cut short) is sent again.
        if (expected && (part.size === undefined || part.size === expected.end - expected.start)) {
          done.set(part.partNumber, part.etag);
        }
      }
    }
    return {
      uploadId: record.uploadId,
      partSize: record.partSize,
      done,
      bodies: new Map(),
      pool: new BufferPool(),
    };
  } catch (error) {
    if (error instanceof SluiceError && [404, 409, 410].includes(error.status)) return undefined;
    throw error;
  }
}
