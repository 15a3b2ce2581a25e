/**
 * Presigned part URLs, fetched lazily in batches (one broker call signs the
 * next few parts) and re-signed when storage says a URL expired.
 */
import { SluiceError } from "@sluice/core";
import type { BrokerApi, PartUrl } from "../broker-api.ts";

export class PartUrls {
  private readonly cache = new Map<number, Promise<PartUrl>>();

  constructor(
    private readonly options: {
      api: BrokerApi;
      uploadId: string;
      batchSize: number;
    },
  ) {}

  /** Part numbers still to send, in order: a batch is filled from these. */
  upcoming: () => number[] = () => [];

  get(partNumber: number, signal?: AbortSignal): Promise<PartUrl> {
    const cached = this.cache.get(partNumber);
    if (cached) return cached;
    const batch = [partNumber];
    for (const next of this.upcoming()) {
      if (batch.length >= this.options.batchSize) break;
      if (next !== partNumber && !this.cache.has(next)) batch.push(next);
    }
    const request = this.options.api.presignParts(this.options.uploadId, batch, signal);
    for (const number of batch) {
      const one = request.then((urls) => {
        const url = urls.find((u) => u.partNumber === number);
        if (!url) {
          throw new SluiceError({
            code: "InvalidGrant",
            status: 502,
            message: `Broker did not sign part ${number}`,
          });
        }
        return url;
      });
      // A failed batch must not poison the cache: the next get() asks again.
      one.catch(() => this.cache.delete(number));
      this.cache.set(number, one);
    }
    return this.cache.get(partNumber)!;
  }

  /** Forget a URL that storage refused as expired; the next get() signs a fresh one. */
  invalidate(partNumber: number): void {
    this.cache.delete(partNumber);
  }

  /** Drop a sent part's URL. */
  release(partNumber: number): void {
    this.cache.delete(partNumber);
  }
}
