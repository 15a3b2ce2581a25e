/** Browser/React Native transport on XMLHttpRequest: the only API with real upload progress events. */
import { isStreamBody } from "../body.ts";
import { abortedError, networkError } from "../errors.ts";
import type { Transport, TransportRequest, TransportResponse } from "../transport.ts";

/** Headers the browser sets itself and refuses from scripts. */
const FORBIDDEN = new Set(["content-length", "host", "connection"]);

export function createXhrTransport(): Transport {
  return { request: send };
}

function send(request: TransportRequest): Promise<TransportResponse> {
  return new Promise((resolve, reject) => {
    if (request.signal?.aborted) return reject(abortedError());
    const body = request.body;
    if (body !== undefined && isStreamBody(body)) {
      return reject(new TypeError("XHR transport sends Blob or Uint8Array bodies only"));
    }
    const xhr = new XMLHttpRequest();
    xhr.open(request.method, request.url);
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      if (!FORBIDDEN.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    const onAbort = () => xhr.abort();
    request.signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => request.signal?.removeEventListener("abort", onAbort);
    if (request.onProgress) {
      const report = request.onProgress;
      xhr.upload.onprogress = (event) => report(event.loaded);
    }
    xhr.onload = () => {
      done();
      resolve({
        status: xhr.status,
        headers: parseHeaders(xhr.getAllResponseHeaders()),
        text: async () => xhr.responseText,
      });
    };
    xhr.onerror = () => {
      done();
      reject(networkError(new Error("XMLHttpRequest failed (network error or CORS refusal)")));
    };
    xhr.onabort = () => {
      done();
      reject(abortedError());
    };
    xhr.send((body as XMLHttpRequestBodyInit | undefined) ?? null);
  });
}

function parseHeaders(raw: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of raw.trim().split(/[\r\n]+/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}
