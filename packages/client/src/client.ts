/**
 * The SDK's client, built from a platform (browser or Node): the entry points
 * index.ts and node.ts only choose the platform.
 */
import {
  BrokerApi,
  type FileRecord,
  type LinkInfo,
  type ShareLink,
  type TokenSource,
  type UploadRecord,
} from "./broker-api.ts";
import { abortInterrupted, type InterruptedUpload, listInterrupted } from "./interrupted.ts";
import type { ProfileInfo } from "./profiles.ts";
import type { ResumeStore } from "./resume-state.ts";
import { defaultRetryPolicy, type RetryPolicy, sleep } from "./retry.ts";
import type { Sha256, UploadSource } from "./source.ts";
import type { Transport } from "./transport.ts";
import { type UploadOptions, UploadTask } from "./upload/task.ts";

export interface ClientOptions {
  /** Broker URL, e.g. http://127.0.0.1:8080 */
  endpoint: string;
  /** API key or session token, or a function returning a fresh one. */
  token?: string;
  getToken?: () => string | Promise<string>;
  /** fetch for broker calls (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** Transport for bytes to and from storage (default: the platform's fastest). */
  transport?: Transport;
  retry?: Partial<RetryPolicy>;
  /** Where unfinished uploads are remembered; `false` disables resume. */
  resumeStore?: ResumeStore | false;
  resumeTtlMs?: number;
}

export interface Platform {
  transport: Transport;
  defaultConcurrency: number;
  resumeStore?: ResumeStore;
  toSource(input: unknown, options: UploadOptions): Promise<UploadSource>;
  sha256(): Sha256;
}

export interface SluiceClient {
  readonly api: BrokerApi;
  readonly transport: Transport;
  upload(input: unknown, options: UploadOptions): UploadTask;
  /**
   * Multipart uploads the resume store remembers for this broker that are
   * still open on it, oldest first: upload the same file again to continue
   * one. Entries of finished, aborted or expired uploads are dropped.
   */
  interruptedUploads(): Promise<InterruptedUpload[]>;
  /** Aborts an interrupted upload on the broker and forgets it. */
  abortInterrupted(upload: Pick<InterruptedUpload, "fingerprint" | "uploadId">): Promise<void>;
  /** A presigned GET for a ready file (lives minutes). */
  download(id: string): Promise<{ url: string; expiresAt?: string }>;
  /** Polls until the broker has verified the upload (ready) or refused it (rejected). */
  waitUntilSettled(id: string, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<UploadRecord>;
  files(options?: { limit?: number; pageSize?: number }): Promise<FileRecord[]>;
  file(id: string): Promise<FileRecord>;
  /** The broker's upload profiles (name, size range, accepted types). */
  profiles(): Promise<ProfileInfo[]>;
  remove(id: string): Promise<void>;
  share(id: string, options?: { expiresIn?: number; maxDownloads?: number }): Promise<ShareLink>;
  revoke(linkId: string): Promise<void>;
  /** The share links of a file (revoked and expired ones too), newest first. */
  links(fileId: string): Promise<LinkInfo[]>;
  /** Releases idle connections (lets a CLI exit at once). */
  close(): void;
}

export function createClientWith(platform: Platform, options: ClientOptions): SluiceClient {
  const retry = { ...defaultRetryPolicy, ...options.retry };
  const token: TokenSource | undefined = options.getToken ?? options.token;
  const api = new BrokerApi({ endpoint: options.endpoint, token, fetch: options.fetch, retry });
  const transport = options.transport ?? platform.transport;
  const resumeStore =
    options.resumeStore === false ? undefined : (options.resumeStore ?? platform.resumeStore);
  return {
    api,
    transport,
    upload: (input, uploadOptions) =>
      new UploadTask(
        {
          api,
          transport,
          retry,
          defaultConcurrency: platform.defaultConcurrency,
          resumeStore,
          resumeTtlMs: options.resumeTtlMs,
          toSource: platform.toSource,
          sha256: platform.sha256,
        },
        input,
        uploadOptions,
      ),
    interruptedUploads: async () =>
      resumeStore ? listInterrupted({ api, store: resumeStore, ttlMs: options.resumeTtlMs }) : [],
    abortInterrupted: (upload) => abortInterrupted({ api, store: resumeStore }, upload),
    download: (id) => api.downloadUrl(id),
    async waitUntilSettled(id, waitOptions = {}) {
      const deadline = Date.now() + (waitOptions.timeoutMs ?? 60_000);
      for (let delay = 50; ; delay = Math.min(1000, delay * 2)) {
        const upload = await api.getUpload(id);
        if (upload.state !== "uploaded" && upload.state !== "pending") return upload;
        if (Date.now() > deadline) return upload;
        await sleep(delay, waitOptions.signal);
      }
    },
    files: (listOptions) => api.listFiles(listOptions),
    file: (id) => api.getFile(id),
    profiles: () => api.listProfiles(),
    remove: (id) => api.deleteFile(id),
    share: (id, shareOptions = {}) => api.createLink(id, shareOptions),
    revoke: (linkId) => api.revokeLink(linkId),
    links: (fileId) => api.listLinks(fileId),
    close: () => (transport as { close?: () => void }).close?.(),
  };
}
