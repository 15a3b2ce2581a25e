/**
 * A list of uploads for user interfaces: each file goes from queued through
 * uploading (pausable) and verifying to ready, rejected or failed. Framework
 * free: subscribe() + getSnapshot() fit React's useSyncExternalStore and plain
 * DOM code alike. Snapshots are immutable; every change makes a new array.
 */
import { SluiceError } from "@sluice/core";
import type { UploadRecord } from "./broker-api.ts";
import type { SluiceClient } from "./client.ts";
import type { InterruptedUpload } from "./interrupted.ts";
import type { Progress } from "./progress.ts";
import type { UploadOptions, UploadTask } from "./upload/task.ts";

export type QueueItemState =
  | "queued"
  | "uploading"
  | "paused"
  | "verifying"
  | "ready"
  | "rejected"
  | "failed"
  | "cancelled";

export interface QueueItem {
  /** Local id of the entry (the broker's upload id is `uploadId`, once granted). */
  readonly key: string;
  readonly name: string;
  readonly size: number;
  readonly type: string;
  readonly state: QueueItemState;
  readonly progress: Progress;
  readonly uploadId?: string;
  /** Why the broker refused the file, or what went wrong. */
  readonly reason?: string;
  /** This run continued an earlier one (after a reload). */
  readonly resumed?: boolean;
  /**
   * Paused by an interruption (a reload, a closed tab): only adding the same
   * file again continues it, resume() cannot.
   */
  readonly needsFile?: boolean;
}

export interface UploadQueueOptions extends Omit<UploadOptions, "onProgress" | "signal" | "name" | "size"> {
  /** Files uploading at the same time (default 3); the others wait as queued. */
  parallelFiles?: number;
  /** How long to wait for the broker's verification before giving up on showing the outcome (ms). */
  settleTimeoutMs?: number;
}

type Input = Blob & { name?: string; lastModified?: number };

export class UploadQueue {
  private items: QueueItem[] = [];
  private readonly inputs = new Map<string, { file: Input; options: Partial<UploadOptions> }>();
  private readonly tasks = new Map<string, UploadTask>();
  private readonly interrupted = new Map<string, InterruptedUpload>();
  private readonly listeners = new Set<() => void>();
  private counter = 0;

  constructor(
    private readonly client: SluiceClient,
    private readonly options: UploadQueueOptions,
  ) {}

  /**
   * Adds files and starts them as slots free up; `options` (e.g. another profile) apply to these files only.
   * A file that is an interrupted entry's (same name, size and lastModified) continues in that entry, in its profile.
   */
  add(files: Iterable<Input>, options: Partial<UploadOptions> = {}): string[] {
    const keys: string[] = [];
    for (const file of files) {
      const waiting = this.interruptedEntryOf(file);
      if (waiting) {
        this.interrupted.delete(waiting.key);
        this.inputs.set(waiting.key, { file, options: { ...options, profile: waiting.upload.profile } });
        this.update(waiting.key, { state: "queued", needsFile: false });
        keys.push(waiting.key);
        continue;
      }
      const key = `q${++this.counter}`;
      this.inputs.set(key, { file, options });
      this.items = [
        ...this.items,
        {
          key,
          name: file.name ?? "blob",
          size: file.size,
          type: options.type || this.options.type || file.type,
          state: "queued",
          progress: { bytesSent: 0, total: file.size, speed: 0, eta: undefined },
        },
      ];
      keys.push(key);
    }
    this.emit();
    this.pump();
    return keys;
  }

  /**
   * Lists the uploads an earlier page or process left unfinished
   * (client.interruptedUploads()) as paused entries that need their file;
   * uploads already in the queue are not added twice.
   */
  async restoreInterrupted(): Promise<void> {
    const found = await this.client.interruptedUploads();
    const known = new Set(this.items.map((item) => item.uploadId));
    const files = [...this.inputs.values()].map((input) => input.file);
    // A file added while the list was read continues that upload already (its id may not be known yet).
    const restored = found.filter(
      (upload) => !known.has(upload.uploadId) && !files.some((file) => sameFile(upload, file)),
    );
    if (restored.length === 0) return;
    this.items = [
      ...this.items,
      ...restored.map((upload) => {
        const key = `q${++this.counter}`;
        this.interrupted.set(key, upload);
        return {
          key,
          name: upload.name,
          size: upload.size,
          type: upload.type ?? "",
          state: "paused" as const,
          progress: { bytesSent: upload.bytesDone, total: upload.size, speed: 0, eta: undefined },
          uploadId: upload.uploadId,
          needsFile: true,
        };
      }),
    ];
    this.emit();
  }

  pause(key: string): void {
    const task = this.tasks.get(key);
    if (!task || this.get(key)?.state !== "uploading") return;
    task.pause();
    this.update(key, { state: "paused" });
  }

  resume(key: string): void {
    const task = this.tasks.get(key);
    if (!task || this.get(key)?.state !== "paused") return;
    task.resume();
    this.update(key, { state: "uploading" });
  }

  /** Stops the upload for good (the broker aborts it), or drops a queued file. */
  cancel(key: string): void {
    const item = this.get(key);
    if (!item || !["queued", "uploading", "paused"].includes(item.state)) return;
    this.update(key, { state: "cancelled" });
    void this.tasks.get(key)?.abort();
    this.inputs.delete(key);
    const waiting = this.interrupted.get(key);
    if (waiting) {
      this.interrupted.delete(key);
      this.update(key, { needsFile: false });
      this.client.abortInterrupted(waiting).catch((error: unknown) => this.update(key, failure(error)));
    }
  }

  /** Forgets a finished entry. */
  remove(key: string): void {
    this.cancel(key);
    this.items = this.items.filter((item) => item.key !== key);
    this.emit();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): readonly QueueItem[] => this.items;

  get(key: string): QueueItem | undefined {
    return this.items.find((item) => item.key === key);
  }

  private pump(): void {
    const limit = this.options.parallelFiles ?? 3;
    let active = this.items.filter(
      (i) => ["uploading", "paused", "verifying"].includes(i.state) && !i.needsFile,
    ).length;
    for (const item of this.items) {
      if (active >= limit) return;
      if (item.state !== "queued") continue;
      active++;
      void this.run(item.key);
    }
  }

  private async run(key: string): Promise<void> {
    const input = this.inputs.get(key);
    if (!input) return;
    this.update(key, { state: "uploading" });
    const { parallelFiles: _p, settleTimeoutMs, ...uploadOptions } = this.options;
    const task = this.client.upload(input.file, {
      ...uploadOptions,
      ...input.options,
      onProgress: (progress) => this.update(key, { progress, uploadId: task.id }),
    });
    this.tasks.set(key, task);
    try {
      const result = await task;
      this.update(key, { state: "verifying", uploadId: result.id, resumed: result.resumed });
      const settled =
        result.upload.state === "uploaded" || result.upload.state === "pending"
          ? await this.client.waitUntilSettled(result.id, { timeoutMs: settleTimeoutMs ?? 120_000 })
          : result.upload;
      this.update(key, outcome(settled));
    } catch (error) {
      if (this.get(key)?.state !== "cancelled") this.update(key, failure(error));
    } finally {
      this.tasks.delete(key);
      this.inputs.delete(key);
      this.pump();
    }
  }

  private interruptedEntryOf(file: Input): { key: string; upload: InterruptedUpload } | undefined {
    for (const [key, upload] of this.interrupted) if (sameFile(upload, file)) return { key, upload };
    return undefined;
  }

  private update(key: string, patch: Partial<QueueItem>): void {
    let changed = false;
    this.items = this.items.map((item) => {
      if (item.key !== key) return item;
      changed = true;
      return { ...item, ...patch };
    });
    if (changed) this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

/** The test resume itself makes (with the profile and endpoint): name, size and modification time. */
function sameFile(upload: InterruptedUpload, file: Input): boolean {
  return upload.name === file.name && upload.size === file.size && upload.lastModified === file.lastModified;
}

function outcome(upload: UploadRecord): Partial<QueueItem> {
  if (upload.state === "ready") return { state: "ready" };
  if (upload.state === "rejected") return { state: "rejected", reason: upload.reason ?? "Rejected" };
  if (upload.state === "uploaded") return { state: "verifying" };
  return { state: "failed", reason: `Upload is ${upload.state}` };
}

/** A refusal by the broker or storage (4xx) is a rejection; anything else a failure worth retrying. */
function failure(error: unknown): Partial<QueueItem> {
  if (error instanceof SluiceError) {
    const refused = error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
    return { state: refused ? "rejected" : "failed", reason: error.message };
  }
  return { state: "failed", reason: error instanceof Error ? error.message : String(error) };
}
