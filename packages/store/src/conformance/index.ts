import { after, before, describe } from "node:test";
import { rgwTier } from "@sluice/core/testing";
import { objectAttributesConformance } from "./attributes.ts";
import { authConformance } from "./auth.ts";
import { browserConformance } from "./browser.ts";
import { bucketConformance } from "./buckets.ts";
import { checksumConformance } from "./checksums.ts";
import { realClientConformance } from "./clients.ts";
import { corsConformance } from "./cors.ts";
import { framingConformance } from "./framing.ts";
import { multipartConformance } from "./multipart.ts";
import { conditionalWriteConformance, objectsConformance } from "./objects.ts";
import { postRequestsConformance } from "./post-requests.ts";
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
  objectAttributes: objectAttributesConformance,
  auth: authConformance,
  realClients: realClientConformance,
  streaming: streamingConformance,
  browser: browserConformance,
  postRequests: postRequestsConformance,
  framing: framingConformance,
  cors: corsConformance,
} as const;

/**
 * Runs the S3 conformance suites against both targets: our embedded store,
 * and Ceph RGW from the test tier (rgwTier: skipped with the reason on a
 * machine without it, a failure in CI). The same assertions hold for both;
 * where RGW 16 lacks a feature the test says so and runs on ours only.
 */
export function runConformance(
  suites: ReadonlyArray<keyof typeof SUITES> = Object.keys(SUITES) as Array<keyof typeof SUITES>,
): void {
  const rgw = rgwTier();
  for (const kind of ["sluice", "rgw"] as const) {
    const skip = kind === "rgw" && !rgw.available ? rgw.reason : false;
    let target: ConformanceTarget | undefined;
    describe(`S3 conformance (${kind === "rgw" ? "Ceph RGW" : "embedded store"})`, { skip }, () => {
      before(async () => {
        target = await openTarget(kind === "rgw" && rgw.available ? rgw.value : undefined);
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
}
