/** One request to storage through the transport, with progress accounting and S3 errors as SluiceError. */
import { SluiceError } from "@sluice/core";
import type { Body } from "./body.ts";
import { abortedError, networkError, storageError } from "./errors.ts";
import type { ProgressMeter } from "./progress.ts";
import type { Transport, TransportResponse } from "./transport.ts";

export async function storageRequest(options: {
  transport: Transport;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: Body;
  signal?: AbortSignal;
  meter?: ProgressMeter;
}): Promise<TransportResponse> {
  let sent = 0;
  const { meter } = options;
  let response: TransportResponse;
  try {
    response = await options.transport.request({
      method: options.method,
      url: options.url,
      headers: options.headers,
      body: options.body,
      signal: options.signal,
      onProgress: meter
        ? (total) => {
            meter.add(total - sent);
            sent = total;
          }
        : undefined,
    });
  } catch (error) {
    meter?.add(-sent);
    if (options.signal?.aborted) throw abortedError();
    throw error instanceof SluiceError ? error : networkError(error);
  }
  if (response.status >= 300) {
    meter?.add(-sent);
    const text = await response.text().catch(() => "");
    const retryAfter = response.headers["retry-after"];
    throw storageError(response.status, text, retryAfter ? { "retry-after": retryAfter } : undefined);
  }
  return response;
}
