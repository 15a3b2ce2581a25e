import assert from "node:assert/strict";
import { test } from "node:test";
import type { SluiceError } from "@sluice/core";
import { abortedError, networkError, storageError } from "./errors.ts";
import { backoffDelay, classifyFailure, withRetries } from "./retry.ts";

const fast = { retries: 5, baseDelayMs: 1, maxDelayMs: 5 };

test("network errors, 5xx and 429 are retried; 4xx and aborts are not; expiry asks for a new URL", () => {
  assert.equal(classifyFailure(networkError(new Error("ECONNRESET"))), "retry");
  assert.equal(classifyFailure(storageError(503, "<Code>SlowDown</Code>")), "retry");
  assert.equal(classifyFailure(storageError(500, "")), "retry");
  assert.equal(classifyFailure(storageError(429, "")), "retry");
  assert.equal(classifyFailure(storageError(501, "<Code>NotImplemented</Code>")), "fail");
  assert.equal(classifyFailure(storageError(403, "<Code>SignatureDoesNotMatch</Code>")), "fail");
  assert.equal(
    classifyFailure(storageError(403, "<Code>AccessDenied</Code><Message>Request has expired</Message>")),
    "resign",
  );
  assert.equal(classifyFailure(abortedError()), "fail");
  assert.equal(classifyFailure(new Error("bug")), "fail");
});

test("backoff grows exponentially with full jitter, capped, and honours Retry-After", () => {
  const policy = { retries: 10, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(backoffDelay({ attempt: 0, policy, random: () => 0.999 }), 99);
  assert.equal(backoffDelay({ attempt: 3, policy, random: () => 0.5 }), 400);
  assert.equal(backoffDelay({ attempt: 20, policy, random: () => 0.999 }), 999);
  assert.equal(backoffDelay({ attempt: 0, policy, random: () => 0 }), 0);
  assert.equal(backoffDelay({ attempt: 0, policy, retryAfterSeconds: 0.5 }), 500);
  assert.equal(backoffDelay({ attempt: 0, policy, retryAfterSeconds: 60 }), 1000);
});

test("withRetries retries transient failures until success", async () => {
  let calls = 0;
  const result = await withRetries({
    policy: fast,
    attempt: async () => {
      calls++;
      if (calls < 3) throw storageError(503, "");
      return "ok";
    },
  });
  assert.equal(result, "ok");
  assert.equal(calls, 3);
});

test("withRetries gives up after the policy's retries and rethrows the last error", async () => {
  let calls = 0;
  await assert.rejects(
    withRetries({
      policy: fast,
      attempt: async () => {
        calls++;
        throw networkError(new Error("down"));
      },
    }),
    (error: SluiceError) => error.code === "NetworkError",
  );
  assert.equal(calls, fast.retries + 1);
});

test("withRetries re-signs on expiry before trying again, and does not retry a refusal", async () => {
  let resigned = 0;
  let calls = 0;
  await withRetries({
    policy: fast,
    onResign: async () => {
      resigned++;
    },
    attempt: async () => {
      calls++;
      if (calls === 1)
        throw storageError(403, "<Code>AccessDenied</Code><Message>Request has expired</Message>");
    },
  });
  assert.equal(resigned, 1);
  calls = 0;
  await assert.rejects(
    withRetries({
      policy: fast,
      attempt: async () => {
        calls++;
        throw storageError(403, "<Code>SignatureDoesNotMatch</Code>");
      },
    }),
  );
  assert.equal(calls, 1);
});

test("an abort during backoff stops the retries", async () => {
  const controller = new AbortController();
  const pending = withRetries({
    policy: { retries: 5, baseDelayMs: 10_000, maxDelayMs: 10_000 },
    signal: controller.signal,
    attempt: async () => {
      throw storageError(500, "");
    },
  });
  setTimeout(() => controller.abort(), 10);
  await assert.rejects(pending, (error: SluiceError) => error.code === "Aborted");
});
