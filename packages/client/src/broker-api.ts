/**
 * Typed calls to the broker's JSON API (DESIGN: Broker API v1). Uses `fetch`
 * (injectable), which exists in browsers, React Native and Node.
 */
import { brokerError, networkError } from "./errors.ts";
import type { ProfileInfo } from "./profiles.ts";
import { type RetryPolicy, withRetries } from "./retry.ts";

export type UploadMethod = "put" | "post" | "multipart";
export type UploadState = "pending" | "uploaded" | "ready" | "rejected" | "aborted" | "expired";

export interface UploadRecord {
  id: string;
  state: UploadState;
  key?: string;
  name?: string;
  size?: number;
  type?: string;
  method?: UploadMethod;
  expiresAt?: string;
  fileId?: string;
  reason?: string;
}

export interface SignedRequest {
  url: string;
  headers?: Record<string, string>;
}

export interface UploadGrant {
  upload: UploadRecord;
  put?: SignedRequest;
  post?: { url: string; fields: Record<string, string> };
  multipart?: { partSize: number; partCount: number };
}

export interface PartUrl extends SignedRequest {
  partNumber: number;
  expiresAt?: string;
}

export interface StoredPart {
  partNumber: number;
  etag: string;
  size?: number;
}

export interface FileRecord {
  id: string;
  name: string;
  size: number;
  type: string;
  state: UploadState;
  createdAt?: string;
  sha256?: string;
  [extra: string]: unknown;
}

export interface ShareLink {
  id: string;
  url: string;
  expiresAt?: string;
  maxDownloads?: number | null;
  [extra: string]: unknown;
}

/** A share link as listed (its token is never stored, so no URL: revoke it by id). */
export interface LinkInfo {
  id: string;
  fileId: string;
  expiresAt: string;
  maxDownloads: number | null;
  uses: number;
  revokedAt: string | null;
  createdAt: string;
}

export interface CreateUploadRequest {
  profile: string;
  name: string;
  size: number;
  type: string;
  sha256?: string;
  metadata?: Record<string, string>;
}

export type TokenSource = string | (() => string | Promise<string>);

export interface BrokerApiOptions {
  endpoint: string;
  token?: TokenSource;
  fetch?: typeof fetch;
  retry: RetryPolicy;
}

export class BrokerApi {
  readonly endpoint: string;

  constructor(private readonly options: BrokerApiOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, "");
  }

  private async call<T>(
    method: string,
    path: string,
    options: { body?: unknown; signal?: AbortSignal } = {},
  ): Promise<T> {
    const doFetch = this.options.fetch ?? globalThis.fetch;
    return withRetries({
      policy: { ...this.options.retry, retries: Math.min(3, this.options.retry.retries) },
      signal: options.signal,
      attempt: async () => {
        const headers: Record<string, string> = { accept: "application/json" };
        const token = await resolveToken(this.options.token);
        if (token) headers.authorization = `Bearer ${token}`;
        if (options.body !== undefined) headers["content-type"] = "application/json";
        let response: Response;
        try {
          response = await doFetch(`${this.endpoint}${path}`, {
            method,
            headers,
            body: options.body === undefined ? undefined : JSON.stringify(options.body),
            signal: options.signal,
          });
        } catch (error) {
          throw networkError(error, this.endpoint);
        }
        const text = await response.text();
        if (!response.ok) {
          const responseHeaders: Record<string, string> = {};
          const retryAfter = response.headers.get("retry-after");
          if (retryAfter) responseHeaders["retry-after"] = retryAfter;
          throw brokerError(response.status, text, responseHeaders);
        }
        return (text ? JSON.parse(text) : undefined) as T;
      },
    });
  }

  createUpload(request: CreateUploadRequest, signal?: AbortSignal): Promise<UploadGrant> {
    return this.call("POST", "/v1/uploads", { body: request, signal });
  }

  /** A fresh grant for a pending upload whose URL or policy expired. */
  regrant(id: string, signal?: AbortSignal): Promise<UploadGrant> {
    return this.call("POST", `/v1/uploads/${enc(id)}/grant`, { signal });
  }

  async getUpload(id: string): Promise<UploadRecord> {
    const answer = await this.call<{ upload: UploadRecord } | UploadRecord>("GET", `/v1/uploads/${enc(id)}`);
    return "upload" in answer ? answer.upload : answer;
  }

  async presignParts(id: string, partNumbers: number[], signal?: AbortSignal): Promise<PartUrl[]> {
    const answer = await this.call<{ parts: PartUrl[] }>("POST", `/v1/uploads/${enc(id)}/parts`, {
      body: { partNumbers },
      signal,
    });
    return answer.parts;
  }

  async listParts(id: string, signal?: AbortSignal): Promise<StoredPart[]> {
    const answer = await this.call<{ parts: StoredPart[] }>("GET", `/v1/uploads/${enc(id)}/parts`, {
      signal,
    });
    return answer.parts;
  }

  async complete(
    id: string,
    parts?: Array<{ partNumber: number; etag: string }>,
    signal?: AbortSignal,
  ): Promise<UploadRecord> {
    const answer = await this.call<{ upload: UploadRecord } | UploadRecord>(
      "POST",
      `/v1/uploads/${enc(id)}/complete`,
      { body: parts ? { parts } : {}, signal },
    );
    return "upload" in answer ? answer.upload : answer;
  }

  async abort(id: string): Promise<void> {
    await this.call("DELETE", `/v1/uploads/${enc(id)}`);
  }

  /** The caller's files, newest first, following the broker's pages. */
  async listFiles(options: { limit?: number; pageSize?: number } = {}): Promise<FileRecord[]> {
    const files: FileRecord[] = [];
    const wanted = options.limit ?? Number.POSITIVE_INFINITY;
    let cursor: string | null = null;
    do {
      const page = Math.min(options.pageSize ?? 1000, wanted - files.length);
      const query: string = `limit=${page}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const answer: { files: FileRecord[]; next?: string | null } = await this.call(
        "GET",
        `/v1/files?${query}`,
      );
      files.push(...answer.files);
      cursor = answer.files.length === page ? (answer.next ?? null) : null;
    } while (cursor && files.length < wanted);
    return files;
  }

  async listProfiles(): Promise<ProfileInfo[]> {
    return (await this.call<{ profiles: ProfileInfo[] }>("GET", "/v1/profiles")).profiles;
  }

  async getFile(id: string): Promise<FileRecord> {
    const answer = await this.call<{ file: FileRecord } | FileRecord>("GET", `/v1/files/${enc(id)}`);
    return "file" in answer && typeof answer.file === "object"
      ? (answer.file as FileRecord)
      : (answer as FileRecord);
  }

  async deleteFile(id: string): Promise<void> {
    await this.call("DELETE", `/v1/files/${enc(id)}`);
  }

  downloadUrl(id: string, signal?: AbortSignal): Promise<{ url: string; expiresAt?: string }> {
    return this.call("GET", `/v1/files/${enc(id)}/download?json`, { signal });
  }

  async createLink(id: string, options: { expiresIn?: number; maxDownloads?: number }): Promise<ShareLink> {
    const answer = await this.call<{ link: ShareLink } | ShareLink>("POST", `/v1/files/${enc(id)}/links`, {
      body: options,
    });
    return "link" in answer && typeof answer.link === "object"
      ? (answer.link as ShareLink)
      : (answer as ShareLink);
  }

  async listLinks(fileId: string): Promise<LinkInfo[]> {
    return (await this.call<{ links: LinkInfo[] }>("GET", `/v1/files/${enc(fileId)}/links`)).links;
  }

  async revokeLink(id: string): Promise<void> {
    await this.call("DELETE", `/v1/links/${enc(id)}`);
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

async function resolveToken(token: TokenSource | undefined): Promise<string | undefined> {
  return typeof token === "function" ? await token() : token;
}
