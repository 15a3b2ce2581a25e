/**
 * node:http(s) transport with a keep-alive agent. Node's fetch tops out far
 * below what loopback storage can take; raw node:http writing large chunks
 * does not (see bench/). Progress counts bytes as the socket accepts them.
 */
import { once } from "node:events";
import http from "node:http";
import https from "node:https";
import { type Body, bodyLength, isStreamBody } from "../body.ts";
import { abortedError, networkError } from "../errors.ts";
import type { Transport, TransportRequest, TransportResponse } from "../transport.ts";

/** Big writes keep syscalls few; small enough for smooth progress. */
const CHUNK = 1024 * 1024;

export interface NodeTransport extends Transport {
  /** Closes idle keep-alive sockets (tests, CLI exit). */
  close(): void;
}

export function createNodeTransport(
  options: {
    maxSockets?: number;
    /** A request whose socket sees no traffic this long fails as a network error (and is retried). */
    idleTimeoutMs?: number;
  } = {},
): NodeTransport {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64, scheduling: "lifo" as const };
  const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  return {
    request: (request) => send(request, { agents, idleTimeoutMs }),
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

function send(
  request: TransportRequest,
  options: { agents: { http: http.Agent; https: https.Agent }; idleTimeoutMs: number },
): Promise<TransportResponse> {
  const { agents } = options;
  return new Promise((resolve, reject) => {
    if (request.signal?.aborted) return reject(abortedError());
    const url = new URL(request.url);
    const secure = url.protocol === "https:";
    const headers: Record<string, string | number> = { ...request.headers };
    if (request.body !== undefined && !hasHeader(headers, "content-length")) {
      headers["content-length"] = bodyLength(request.body);
    }
    const req = (secure ? https : http).request(url, {
      method: request.method,
      headers,
      agent: secure ? agents.https : agents.http,
      signal: request.signal,
    });
    // A stalled connection (storage or a middlebox hung) must not hang the upload forever.
    req.setTimeout(options.idleTimeoutMs, () =>
      req.destroy(new Error(`no traffic for ${options.idleTimeoutMs} ms`)),
    );
    let settled = false;
    req.on("error", (error) => {
      if (settled) return;
      settled = true;
      reject(request.signal?.aborted ? abortedError() : networkError(error));
    });
    req.on("response", (res) => {
      settled = true;
      resolve(toResponse(res));
    });
    writeBody(req, request).catch(() => {
      // The request's own "error" event reports the failure.
    });
  });
}

async function writeBody(req: http.ClientRequest, request: TransportRequest): Promise<void> {
  const body = request.body;
  if (body === undefined) {
    req.end();
    return;
  }
  let sent = 0;
  for await (const chunk of chunksOf(body)) {
    if (req.destroyed) return;
    if (!req.write(chunk)) await once(req, "drain");
    sent += chunk.byteLength;
    request.onProgress?.(sent);
  }
  req.end();
}

async function* chunksOf(body: Body): AsyncIterable<Uint8Array> {
  if (body instanceof Uint8Array) {
    for (let i = 0; i < body.byteLength; i += CHUNK) yield body.subarray(i, i + CHUNK);
  } else if (isStreamBody(body)) {
    yield* body.open();
  } else {
    for await (const chunk of body.stream() as unknown as AsyncIterable<Uint8Array>) yield chunk;
  }
}

function toResponse(res: http.IncomingMessage): TransportResponse {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return {
    status: res.statusCode ?? 0,
    headers,
    async text() {
      let text = "";
      res.setEncoding("utf8");
      try {
        for await (const chunk of res) text += chunk;
      } catch (error) {
        throw networkError(error);
      }
      return text;
    },
    stream: () => res,
  };
}

function hasHeader(headers: Record<string, unknown>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}
