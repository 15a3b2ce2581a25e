import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import type { StoreEvents } from "./events.ts";
import type { ResolvedOptions } from "./options.ts";
import type { BlobStore } from "./storage/blobs.ts";
import type { Catalog } from "./storage/catalog.ts";
import type { BucketSettings } from "./storage/settings.ts";

/** Who made a request. Extensions (ACLs) may let "anonymous" through for some operations. */
export type AuthResult =
  | { kind: "anonymous" }
  | { kind: "sigv4"; accessKeyId: string; via: "header" | "query" }
  /** Another scheme added by an extension (e.g. SigV2, POST policy). */
  | { kind: "other"; scheme: string; accessKeyId: string };

/** What the router knows before authentication. */
export interface RequestTarget {
  id: string;
  method: string;
  /** Path as on the wire (percent-encoded). */
  rawPath: string;
  query: URLSearchParams;
  bucket?: string;
  key?: string;
  raw: IncomingMessage;
  header(name: string): string | undefined;
}

export interface S3Request extends RequestTarget {
  auth: AuthResult;
  /**
   * The body, decoded (aws-chunked) and verified as it streams (chunk
   * signatures, signed x-amz-content-sha256): it errors at its end when it
   * does not match, so nothing read from it may be committed before it ends.
   */
  body: Readable;
  /** Decoded body length when the request declares one. */
  contentLength?: number;
  /** aws-chunked trailing headers (x-amz-checksum-*); complete once `body` has ended. */
  trailers: ReadonlyMap<string, string>;
}

export interface S3Response {
  status: number;
  headers?: Record<string, string>;
  body?: string | Readable;
  /** Runs once the response is finished or aborted (e.g. releases blob leases). */
  onDone?: () => void;
}

export interface StoreContext {
  options: ResolvedOptions;
  catalog: Catalog;
  blobs: BlobStore;
  events: StoreEvents;
  /** Bucket sub-resource configurations (ACL, CORS, lifecycle, notification). */
  settings: BucketSettings;
}

export type OperationTarget = "service" | "bucket" | "object";

export interface Operation {
  /** S3 action name, e.g. "PutObject". */
  name: string;
  method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  target: OperationTarget;
  /** Query parameters that select this operation, e.g. ["uploads"] or ["uploadId", "partNumber"]. */
  subresources?: string[];
  /** Header that selects this operation, e.g. "x-amz-copy-source". */
  header?: string;
  handle(request: S3Request, store: StoreContext): Promise<S3Response>;
}

/**
 * How concerns beyond the core plug in (each in its own file): POST policy
 * uploads and CORS preflight intercept requests before authentication, ACLs
 * authorize anonymous requests, CORS decorates responses, and bucket
 * subresources (?cors, ?acl, ?lifecycle, ?notification) are operations.
 */
export interface StoreExtension {
  operations?: Operation[];
  /** Before authentication; may answer the request itself (preflight, browser POST form). */
  intercept?(target: RequestTarget, store: StoreContext): Promise<S3Response | undefined>;
  /** An auth scheme other than SigV4 (e.g. SigV2); undefined when the request does not use it. */
  authenticate?(target: RequestTarget, store: StoreContext): AuthResult | undefined;
  /** Lets a request through that would otherwise be denied (anonymous access by ACL). */
  authorize?(request: S3Request, operation: Operation, store: StoreContext): "allow" | undefined;
  /** Adjusts every response, errors included (e.g. CORS headers). */
  decorate?(target: RequestTarget, response: S3Response, store: StoreContext): void;
  /** After an operation succeeded (e.g. a created bucket gets its canned ACL). */
  completed?(
    done: { request: S3Request; operation: Operation; response: S3Response },
    store: StoreContext,
  ): void;
  /** Starts background work (lifecycle sweeper, notification delivery) once the store listens. */
  start?(store: StoreContext): void;
  /** Stops that work; awaited before the catalog closes. */
  close?(): Promise<void>;
}
