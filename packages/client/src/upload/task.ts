/**
 * One upload from grant to completion, as a handle: await it for the
 * result, or pause(), resume() and abort() it. Abort tells the broker, which
 * aborts the multipart upload in storage.
 */
import { SluiceError } from "@sluice/core";
import type { BrokerApi, UploadGrant, UploadMethod, UploadRecord } from "../broker-api.ts";
import { abortedError } from "../errors.ts";
import { partsBytes } from "../part-plan.ts";
import { type Progress, ProgressMeter } from "../progress.ts";
import { DEFAULT_RESUME_TTL_MS, fingerprint, type ResumeStore } from "../resume-state.ts";
import type { RetryPolicy } from "../retry.ts";
import { type Sha256, toHex, type UploadSource } from "../source.ts";
import type { Transport } from "../transport.ts";
import type { UploadContext } from "./context.ts";
import { initialMultipartState, type MultipartState, resumeMultipart, sendParts } from "./multipart.ts";
import { sendSingle } from "./single.ts";

export interface UploadOptions {
  profile: string;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  /** Parts in flight at once (default 4 in Node, 6 in browsers). */
  concurrency?: number;
  metadata?: Record<string, string>;
  /** true: compute the SHA-256 by streaming the input first; a hex string: use it. Storage then verifies it. */
  sha256?: boolean | string;
  /** Override the name, content type, or give the size of a stream input. */
  name?: string;
  type?: string;
  size?: number;
  /** Remember unfinished multipart uploads and continue them (default true when a resume store exists). */
  resume?: boolean;
  onRetry?: UploadContext["onRetry"];
}

export interface UploadResult {
  id: string;
  name: string;
  size: number;
  type: string;
  method: UploadMethod;
  upload: UploadRecord;
  /** True when this run continued an earlier one. */
  resumed: boolean;
}

export interface UploadDeps {
  api: BrokerApi;
  transport: Transport;
  retry: RetryPolicy;
  defaultConcurrency: number;
  resumeStore?: ResumeStore;
  resumeTtlMs?: number;
  toSource(input: unknown, options: UploadOptions): Promise<UploadSource>;
  sha256(): Sha256;
}

export class UploadTask implements PromiseLike<UploadResult> {
  readonly done: Promise<UploadResult>;
  private meter: ProgressMeter | undefined;
  private run = new AbortController();
  private paused: { promise: Promise<void>; release: () => void } | undefined;
  private aborted = false;
  private uploadId: string | undefined;

  constructor(
    private readonly deps: UploadDeps,
    input: unknown,
    private readonly options: UploadOptions,
  ) {
    const onAbort = () => void this.abort();
    if (options.signal?.aborted) {
      this.aborted = true;
      this.run.abort();
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });
    this.done = this.execute(input);
    // The caller may only use pause/abort; keep an unobserved failure from crashing the process.
    this.done.catch(() => {}).finally(() => options.signal?.removeEventListener("abort", onAbort));
  }

  // biome-ignore lint/suspicious/noThenProperty: intended thenable, so `await client.upload(...)` gives the result
  then<A = UploadResult, B = never>(
    onfulfilled?: ((value: UploadResult) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.done.then(onfulfilled, onrejected);
  }

  progress(): Progress {
    return (
      this.meter?.snapshot() ?? { bytesSent: 0, total: this.options.size ?? 0, speed: 0, eta: undefined }
    );
  }

  /** Stops sending; parts in flight are cancelled and sent again on resume(). */
  pause(): void {
    if (this.paused || this.aborted) return;
    let release = () => {};
    const promise = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.paused = { promise, release };
    this.run.abort();
  }

  resume(): void {
    const paused = this.paused;
    if (!paused) return;
    this.paused = undefined;
    this.run = new AbortController();
    paused.release();
  }

  /** Cancels the upload for good and tells the broker. */
  async abort(): Promise<void> {
    if (this.aborted) return;
    this.aborted = true;
    this.run.abort();
    this.paused?.release();
    await this.done.catch(() => {});
  }

  private async execute(input: unknown): Promise<UploadResult> {
    const { deps, options } = this;
    const source = await deps.toSource(input, options);
    const meter = new ProgressMeter(source.size);
    this.meter = meter;
    const report = throttle(() => options.onProgress?.(meter.snapshot()), 100);
    // Every step may be paused, also before the first byte is sent (say, while the resume store is read).
    const sha256 = await this.pausable(() => this.checksum(source));

    const resume = this.resumeTarget(source);
    const context = (): UploadContext => ({
      api: deps.api,
      transport: deps.transport,
      source,
      profile: options.profile,
      retry: deps.retry,
      concurrency: options.concurrency ?? deps.defaultConcurrency,
      meter,
      signal: this.run.signal,
      resume,
      onRetry: options.onRetry,
    });
    meter.onChange = report;

    let multipart: MultipartState | undefined;
    let finished: UploadRecord | undefined;
    let grant: UploadGrant | undefined;
    await this.pausable(async () => {
      const record = resume ? await resume.store.get(resume.fingerprint) : undefined;
      const ttl = deps.resumeTtlMs ?? DEFAULT_RESUME_TTL_MS;
      if (resume && record && Date.now() - record.updatedAt < ttl) {
        const found = await resumeMultipart(context(), record);
        if (found && "finished" in found) finished = found.finished;
        else multipart = found;
        if (!multipart) await resume.store.delete(resume.fingerprint);
      }
      if (multipart || finished) return;
      grant = await deps.api.createUpload(
        {
          profile: options.profile,
          name: source.name,
          size: source.size,
          type: source.type,
          ...(sha256 ? { sha256 } : {}),
          ...(options.metadata ? { metadata: options.metadata } : {}),
        },
        this.run.signal,
      );
    });
    if (finished) {
      // The broker completed it while the last run was being killed: nothing to send.
      meter.add(source.size);
      report.flush();
      return {
        id: finished.id,
        name: source.name,
        size: source.size,
        type: source.type,
        method: "multipart",
        upload: finished,
        resumed: true,
      };
    }
    const resumed = multipart !== undefined;
    if (grant?.multipart) multipart = initialMultipartState(grant);
    const uploadId = multipart?.uploadId ?? grant!.upload.id;
    this.uploadId = uploadId;
    const method: UploadMethod = multipart ? "multipart" : grant!.post && !grant!.put ? "post" : "put";
    if (multipart)
      meter.skip(partsBytes(multipart.done.keys(), { size: source.size, partSize: multipart.partSize }));
    const regrant = async (): Promise<UploadGrant> => {
      grant = await deps.api.regrant(uploadId, this.run.signal);
      return grant;
    };

    try {
      const upload = await this.pausable(async () => {
        let parts: Array<{ partNumber: number; etag: string }> | undefined;
        if (multipart) parts = await sendParts(context(), multipart);
        else
          await sendSingle(context(), {
            grant: grant!,
            method: method === "post" ? "post" : "put",
            regrant,
          });
        // Completion is idempotent on the broker: after a pause it is simply asked again.
        return deps.api.complete(uploadId, parts, this.run.signal);
      });
      if (resume) await resume.store.delete(resume.fingerprint);
      report.flush();
      return {
        id: upload.id ?? uploadId,
        name: source.name,
        size: source.size,
        type: source.type,
        method,
        upload,
        resumed,
      };
    } catch (error) {
      if (this.aborted) {
        await deps.api.abort(uploadId).catch(() => {});
        if (resume) await resume.store.delete(resume.fingerprint);
        throw abortedError();
      }
      throw error;
    }
  }

  /**
   * Runs a step the run's signal cancels; a pause during it waits for resume()
   * and runs the step again, also when resume() came before the step noticed.
   */
  private async pausable<T>(step: () => Promise<T>): Promise<T> {
    for (;;) {
      const run = this.run;
      try {
        return await step();
      } catch (error) {
        if (this.aborted || !run.signal.aborted) throw error;
        if (this.paused) await this.paused.promise;
        if (this.aborted) throw abortedError();
      }
    }
  }

  private async checksum(source: UploadSource): Promise<string | undefined> {
    const wanted = this.options.sha256;
    if (typeof wanted === "string") return wanted.toLowerCase();
    if (!wanted) return undefined;
    if (!source.chunks) {
      throw new SluiceError({
        code: "ChecksumUnavailable",
        status: 400,
        message: "Cannot compute the SHA-256 of a stream before uploading it; pass sha256 as a hex string",
      });
    }
    const hash = this.deps.sha256();
    for await (const chunk of source.chunks()) {
      if (this.run.signal.aborted) throw abortedError();
      hash.update(chunk);
    }
    return toHex(await hash.digest());
  }

  private resumeTarget(source: UploadSource): UploadContext["resume"] {
    const store = this.deps.resumeStore;
    if (!store || this.options.resume === false || !source.identity) return undefined;
    return {
      store,
      fingerprint: fingerprint({
        endpoint: this.deps.api.endpoint,
        profile: this.options.profile,
        name: source.name,
        size: source.size,
        ...source.identity,
      }),
    };
  }

  /** The upload id, once the broker granted it. */
  get id(): string | undefined {
    return this.uploadId;
  }
}

/** At most one call per interval, the last change always delivered (trailing call). */
function throttle(fn: () => void, intervalMs: number): (() => void) & { flush(): void } {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    last = Date.now();
    fn();
  };
  const call = () => {
    const wait = last + intervalMs - Date.now();
    if (wait <= 0) flush();
    else timer ??= setTimeout(flush, wait);
  };
  return Object.assign(call, { flush });
}
