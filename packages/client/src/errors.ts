/**
 * Client-side failures, all as SluiceError (the one error type). Errors with
 * no HTTP response use status 0 ("no response") or 499 ("cancelled").
 */
import { SluiceError } from "@sluice/core";

/** No response at all; `broker` names the broker URL that could not be reached. */
export function networkError(cause: unknown, broker?: string): SluiceError {
  // fetch() says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, bad port) is in its cause.
  const inner = (cause as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const reason = inner?.code ?? inner?.message;
  const detail =
    typeof reason === "string"
      ? ` (${reason})`
      : cause instanceof Error && cause.message
        ? `: ${cause.message}`
        : "";
  return new SluiceError({
    code: "NetworkError",
    status: 0,
    message: broker
      ? `Cannot reach the broker at ${broker}${detail}`
      : `Network error${detail}. Check the connection and that the server is reachable.`,
    cause,
  });
}

export function abortedError(message = "Upload aborted"): SluiceError {
  return new SluiceError({ code: "Aborted", status: 499, message });
}

export function isAbortError(error: unknown): boolean {
  return error instanceof SluiceError && error.code === "Aborted";
}

/** Pulls `<Code>` and `<Message>` out of an S3 XML error body (no XML parser needed in bundles). */
export function storageError(status: number, body: string, headers?: Record<string, string>): SluiceError {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? `Http${status}`;
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? `Storage answered HTTP ${status}`;
  return new SluiceError({
    code,
    status,
    message: `Storage refused the request: ${message} (${code})`,
    headers,
  });
}

/** Broker errors are JSON `{error:{code,message}}`; anything else still becomes a SluiceError. */
export function brokerError(status: number, body: string, headers?: Record<string, string>): SluiceError {
  let code = `Http${status}`;
  let message = `Broker answered HTTP ${status}`;
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code === "string") code = parsed.error.code;
    if (typeof parsed.error?.message === "string") message = parsed.error.message;
  } catch {
    // not JSON: keep the generic message, never echo an unknown body
  }
  return new SluiceError({ code, status, message, headers: headers ?? {} });
}
