/**
 * The one seam between the SDK and the network for storage traffic (bytes).
 * Browsers use XHR (real upload progress events) or fetch; Node uses
 * node:http with a keep-alive agent, which is several times faster than
 * Node's fetch on large bodies. JSON calls to the broker go through `fetch`.
 */
import type { Body } from "./body.ts";

export interface TransportRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: Body;
  signal?: AbortSignal;
  /** Called with the total number of body bytes handed to the network so far. */
  onProgress?: (sentBytes: number) => void;
}

export interface TransportResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  text(): Promise<string>;
  /** Streamed response body, when the transport can stream (Node). */
  stream?(): AsyncIterable<Uint8Array>;
}

export interface Transport {
  request(request: TransportRequest): Promise<TransportResponse>;
}
