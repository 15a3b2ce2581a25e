import { after, before, describe } from "node:test";
import { authConformance } from "./auth.ts";
import { browserConformance } from "./browser.ts";
import { bucketConformance } from "./buckets.ts";
import { checksumConformance } from "./checksums.ts";
import { realClientConformance } from "./clients.ts";
import { multipartConformance } from "./multipart.ts";
import { conditionalWriteConformance, objectsConformance } from "./objects.ts";
import { streamingConformance } from "./streaming.ts";
import { type ConformanceTarget, openTarget } from "./target.ts";

export { type ConformanceTarget, openTarget } from "./target.ts";

/** Every conformance suite; each test file runs a share of them so they run in parallel. */
export const SUITES = {
  objects: objectsConformance,
  conditionalWrites: conditionalWriteConformance,
  checksums: checksumConformance,
  buckets: bucketConformance,
  multipart: multipartConformance,
  auth: authConformance,
  realClients: realClientConformance,
  streaming: streamingConformance,
  browser: browserConformance,
} as const;

/**
 * Runs the S3 conformance suites against one target: our embedded store, or
 * Ceph RGW when SLUICE_RGW_ENDPOINT (+ AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
 * is set. The same assertions hold for both; where RGW 16 lacks a feature
 * the test says so and runs on ours only.
 */
export function runConformance(
  suites: ReadonlyArray<keyof typeof SUITES> = Object.keys(SUITES) as Array<keyof typeof SUITES>,
  open: () => Promise<ConformanceTarget> = openTarget,
): void {
  let target: ConformanceTarget | undefined;
  describe(`S3 conformance (${process.env.SLUICE_RGW_ENDPOINT ? "Ceph RGW" : "embedded store"})`, () => {
    before(async () => {
      target = await open();
    });
    after(async () => {
      await target?.close();
    });
    const getTarget = () => {
      if (!target) throw new Error("conformance target not open");
      return target;
    };
    for (const name of suites) SUITES[name](getTarget);
  });
}
