import { mkdir, rm, statfs } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pipeline } from "node:stream";
import { resolveAddress } from "./addressing.ts";
import { authenticate } from "./auth.ts";
import type { Operation, RequestTarget, S3Request, S3Response, StoreContext } from "./context.ts";
import { newRequestId, renderError, s3Error } from "./errors.ts";
import { StoreEvents } from "./events.ts";
import { applyFraming, MAX_HEADER_BYTES } from "./framing.ts";
import { CORE_OPERATIONS } from "./ops/index.ts";
import { resolveOptions, type StoreOptions } from "./options.ts";
import { route } from "./router.ts";
import { BlobStore } from "./storage/blobs.ts";
import { Catalog } from "./storage/catalog.ts";
import { BucketSettings } from "./storage/settings.ts";

export interface RunningStore {
  /** `http://host:port`, path-style base URL. */
  endpoint: string;
  port: number;
  /** Object created/removed events, emitted after each commit. */
  events: StoreEvents;
  /** Free space on the data directory's disk; not ok below the minFreeBytes option. */
  health(): Promise<{ ok: boolean; freeBytes: number }>;
  close(): Promise<void>;
}

function targetOf(raw: IncomingMessage, store: StoreContext, id: string): RequestTarget {
  const url = raw.url ?? "/";
  const queryAt = url.indexOf("?");
  const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
  const header = (name: string) => {
    const value = raw.headers[name];
    return Array.isArray(value) ? value.join(",") : value;
  };
  return {
    id,
    method: raw.method ?? "GET",
    rawPath: rawPath.startsWith("/") ? rawPath : `/${rawPath}`,
    query: new URLSearchParams(queryAt < 0 ? "" : url.slice(queryAt + 1)),
    raw,
    header,
    ...resolveAddress({ host: header("host"), rawPath, suffixes: store.options.virtualHostSuffixes }),
  };
}

async function answer(
  target: RequestTarget,
  store: StoreContext,
  operations: readonly Operation[],
): Promise<S3Response> {
  for (const extension of store.options.extensions) {
    const intercepted = await extension.intercept?.(target, store);
    if (intercepted) return intercepted;
  }
  const request: S3Request = { ...target, ...authenticate(target, store) };
  const operation = route(operations, request);
  if (request.auth.kind === "anonymous") {
    const allowed = store.options.extensions.some(
      (extension) => extension.authorize?.(request, operation, store) === "allow",
    );
    if (!allowed) throw s3Error("AccessDenied");
  }
  const response = await operation.handle(request, store);
  for (const extension of store.options.extensions)
    extension.completed?.({ request, operation, response }, store);
  return response;
}

/** How much of a refused request's body is read and discarded after the answer, and for how long. */
const DRAIN_BYTES = 64 * 1024 * 1024;
const DRAIN_MS = 10_000;

/**
 * Answers a request whose body was not read (refused before reading it), then
 * reads and discards the rest of the body before closing: a client still
 * sending would otherwise meet a reset (EPIPE) and lose the answer. Bounded: a
 * body beyond DRAIN_BYTES, or one still arriving after DRAIN_MS, is cut off.
 */
function answerThenDrain(raw: IncomingMessage, res: ServerResponse, body: string): void {
  res.write(body);
  let drained = 0;
  let closed = false;
  // Ending the answer closes the connection (connection: close), once it is flushed.
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    raw.off("data", count);
    res.end();
  };
  const count = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_BYTES) close();
  };
  const timer = setTimeout(close, DRAIN_MS);
  timer.unref();
  raw.on("data", count);
  raw.once("end", close);
  raw.once("close", close);
}

function send(raw: IncomingMessage, res: ServerResponse, response: S3Response): void {
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
  // A body we did not read (error before reading it) is drained after the answer, then the connection closes.
  const unread = !raw.readableEnded && !raw.complete;
  if (unread) res.setHeader("connection", "close");
  const done = response.onDone;
  if (done) res.once("close", done);
  const body = response.body;
  if (raw.method === "HEAD" || body === undefined) {
    res.end();
  } else if (typeof body === "string") {
    res.setHeader("content-length", Buffer.byteLength(body));
    if (unread && !raw.destroyed) answerThenDrain(raw, res, body);
    else res.end(body);
  } else {
    // pipeline, not pipe: a client that hangs up mid-download also closes the blob files behind `body`.
    pipeline(body, res, () => {});
  }
}

/**
 * Starts the embedded S3-compatible store on node:http. Everything it keeps
 * lives under `dataDir`: catalog.sqlite3 (buckets, objects, uploads) and
 * blobs/ (the bytes, in files named by random ids).
 */
export async function startStore(options: StoreOptions): Promise<RunningStore> {
  const resolved = resolveOptions(options);
  await mkdir(resolved.dataDir, { recursive: true });
  const events = new StoreEvents();
  const catalog = new Catalog(resolved.dataDir, events);
  const blobs = new BlobStore(resolved.dataDir);
  const referenced = catalog.referencedBlobs();
  await blobs.sweep((id) => referenced.has(id));
  await rm(join(resolved.dataDir, "tmp"), { recursive: true, force: true });
  const store: StoreContext = {
    options: resolved,
    catalog,
    blobs,
    events,
    settings: new BucketSettings(resolved.dataDir),
  };
  const operations = [
    ...CORE_OPERATIONS,
    ...resolved.extensions.flatMap((extension) => extension.operations ?? []),
  ];

  const handle = (raw: IncomingMessage, res: ServerResponse) => {
    // A client hanging up mid-body is answered by whoever reads the body (IncompleteBody), never an uncaught error.
    raw.on("error", () => {});
    const id = newRequestId();
    res.setHeader("x-amz-request-id", id);
    res.setHeader("server", "Sluice");
    let target: RequestTarget | undefined;
    const fail = (error: unknown) => {
      if (res.headersSent) return void res.destroy();
      const rendered = renderError(error, raw.url?.split("?")[0] ?? "/", id);
      const response: S3Response = {
        status: rendered.status,
        headers: rendered.headers,
        body: rendered.body,
      };
      if (target) for (const extension of resolved.extensions) extension.decorate?.(target, response, store);
      send(raw, res, response);
    };
    try {
      checkFraming(raw, res, id);
      target = targetOf(raw, store, id);
      const current = target;
      answer(current, store, operations).then((response) => {
        for (const extension of resolved.extensions) extension.decorate?.(current, response, store);
        send(raw, res, response);
      }, fail);
    } catch (error) {
      fail(error);
    }
  };
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, handle);
  const checkFraming = applyFraming(server, { bodyTimeoutMs: resolved.bodyTimeoutMs, handle });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(resolved.port, resolved.host, () => resolve());
  });
  for (const extension of resolved.extensions) extension.start?.(store);
  const { port } = server.address() as AddressInfo;
  const hostForUrl = resolved.host.includes(":") ? `[${resolved.host}]` : resolved.host;
  return {
    endpoint: `http://${hostForUrl}:${port}`,
    port,
    events: store.events,
    async health() {
      const stats = await statfs(resolved.dataDir);
      const freeBytes = Number(stats.bavail) * Number(stats.bsize);
      return { ok: freeBytes >= resolved.minFreeBytes, freeBytes };
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      for (const extension of resolved.extensions) await extension.close?.();
      store.settings.close();
      catalog.close();
    },
  };
}
