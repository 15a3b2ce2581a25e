/**
 * fetch transport for runtimes without XMLHttpRequest (service workers, edge
 * runtimes). No upload progress events: progress jumps when a request ends.
 */
import { isStreamBody } from "../body.ts";
import { abortedError, networkError } from "../errors.ts";
import type { Transport, TransportRequest, TransportResponse } from "../transport.ts";

export function createFetchTransport(doFetch: typeof fetch = globalThis.fetch): Transport {
  return {
    async request(request: TransportRequest): Promise<TransportResponse> {
      const body = request.body;
      if (body !== undefined && isStreamBody(body)) {
        throw new TypeError("fetch transport sends Blob or Uint8Array bodies only");
      }
      let response: Response;
      try {
        response = await doFetch(request.url, {
          method: request.method,
          headers: request.headers,
          body: body as BodyInit | undefined,
          signal: request.signal,
        });
      } catch (error) {
        throw request.signal?.aborted ? abortedError() : networkError(error);
      }
      if (body !== undefined) request.onProgress?.(body instanceof Uint8Array ? body.byteLength : body.size);
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      return {
        status: response.status,
        headers,
        text: () => response.text(),
        stream: response.body ? () => response.body as unknown as AsyncIterable<Uint8Array> : undefined,
      };
    },
  };
}
