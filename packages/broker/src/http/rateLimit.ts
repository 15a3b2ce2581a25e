// Fixed-window rate limits per key (IP or user), in memory: right for one
// broker; several brokers behind a balancer each count their own share.
import { errors } from "@sluice/core";

export class RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
  ) {}

  /** Counts one hit for `key`; throws 429 with Retry-After when over the limit. */
  hit(key: string, now = Date.now()): void {
    let window = this.#windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      if (this.#windows.size > 100_000) this.#prune(now);
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    window.count += 1;
    if (window.count > this.limit) throw errors.tooManyRequests((window.start + this.windowMs - now) / 1000);
  }

  #prune(now: number): void {
    for (const [key, w] of this.#windows) if (now - w.start >= this.windowMs) this.#windows.delete(key);
  }
}
