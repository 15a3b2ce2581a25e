/**
 * When and how long to retry a storage request: exponential backoff with full
 * jitter on network errors, 5xx and 429 (honouring Retry-After); a 403
 * "Request has expired" means the presigned URL must be re-signed first.
 */
import { SluiceError } from "@sluice/core";
import { abortedError } from "./errors.ts";

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { retries: 8, baseDelayMs: 200, maxDelayMs: 20_000 };

export type RetryDecision = "retry" | "resign" | "fail";

export function classifyFailure(error: unknown): RetryDecision {
  if (!(error instanceof SluiceError)) return "fail";
  if (error.code === "Aborted") return "fail";
  if (error.status === 0 || error.status === 429 || (error.status >= 500 && error.status !== 501))
    return "retry";
  if (isExpired(error)) return "resign";
  return "fail";
}

function isExpired(error: SluiceError): boolean {
  if (error.status !== 403 && error.status !== 400) return false;
  // Presigned URLs say "Request has expired"; POST policies "Policy expired".
  return /request has expired|expiredtoken|request expired|policy expired/i.test(
    `${error.code} ${error.message}`,
  );
}

/** Full jitter: uniform in [0, min(max, base·2^attempt)], or Retry-After when the server gave one. */
export function backoffDelay(options: {
  attempt: number;
  policy: RetryPolicy;
  retryAfterSeconds?: number;
  random?: () => number;
}): number {
  const { attempt, policy, retryAfterSeconds, random = Math.random } = options;
  if (retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds)) {
    return Math.min(policy.maxDelayMs, Math.max(0, retryAfterSeconds * 1000));
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError());
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, retrying per the policy. `onResign` is
 * awaited before retrying an expired presigned request.
 */
export async function withRetries<T>(options: {
  attempt: () => Promise<T>;
  policy: RetryPolicy;
  signal?: AbortSignal;
  onResign?: () => Promise<void>;
  onRetry?: (error: SluiceError, attempt: number) => void;
}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await options.attempt();
    } catch (error) {
      const decision = classifyFailure(error);
      if (decision === "fail" || attempt >= options.policy.retries) throw error;
      if (options.signal?.aborted) throw abortedError();
      const failure = error as SluiceError;
      options.onRetry?.(failure, attempt);
      if (decision === "resign" && options.onResign) {
        await options.onResign();
        continue;
      }
      const retryAfter = Number(failure.headers["retry-after"]);
      await sleep(
        backoffDelay({
          attempt,
          policy: options.policy,
          retryAfterSeconds:
            Number.isNaN(retryAfter) || !failure.headers["retry-after"] ? undefined : retryAfter,
        }),
        options.signal,
      );
    }
  }
}
