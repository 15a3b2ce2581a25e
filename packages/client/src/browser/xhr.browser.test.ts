// The SDK's browser build in headless Chromium: XHR upload progress, parallel
// parts, resume state in localStorage, against a real broker and store.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Harness, startHarness } from "@sluice/broker/testing";
import { CHROMIUM_ARGS, chromiumTier } from "@sluice/core/testing";
import { createWebPages } from "@sluice/web";
import { type Browser, chromium } from "playwright-core";

const tier = chromiumTier();

/** Runs in the page, as source text (the test runner's transpiler must not touch it). */
const IN_PAGE = `async (token) => {
  const sdk = await import("/assets/sluice-client.js");
  const client = sdk.createClient({ endpoint: location.origin, token });
  const bytes = new Uint8Array(12 * 1024 * 1024).map((_, i) => (i * 7) % 256);
  const file = new File([bytes], "browser.bin", { type: "application/octet-stream", lastModified: 1 });
  const progress = [];
  let savedParts = 0;
  const watch = setInterval(() => {
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith("sluice:upload:")) {
        savedParts = Math.max(savedParts, Object.keys(JSON.parse(localStorage.getItem(key)).parts).length);
      }
    }
  }, 5);
  const result = await client.upload(file, { profile: "default", onProgress: (p) => progress.push(p.bytesSent) });
  clearInterval(watch);
  const settled = await client.waitUntilSettled(result.id);
  return { method: result.method, state: settled.state, progress, savedParts, left: Object.keys(localStorage).length };
}`;

test("in a browser: XHR progress events, multipart, ready; resume state kept while uploading", {
  skip: tier.available ? false : tier.reason,
}, async (t) => {
  const harness: Harness = await startHarness({
    config: { profiles: { default: { maxSize: "100MB", multipartThreshold: "5MiB", partSize: "5MiB" } } },
    broker: { web: createWebPages() },
  });
  t.after(() => harness.close());
  const executablePath = tier.available ? tier.value : "";
  const browser: Browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  // The broker serves the SDK's browser bundle; the page's origin is allowed by the bucket's CORS rules.
  await page.goto(`${harness.url}/assets/sluice-client.js`);
  const token = await harness.token();
  // About a second of upload, so progress events and saved parts can be observed.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: 12 * 1024 * 1024,
  });
  const outcome = (await page.evaluate(`(${IN_PAGE})(${JSON.stringify(token)})`)) as {
    method: string;
    state: string;
    progress: number[];
    savedParts: number;
    left: number;
  };
  assert.equal(outcome.method, "multipart");
  assert.equal(outcome.state, "ready");
  assert.equal(outcome.progress.at(-1), 12 * 1024 * 1024);
  assert.ok(
    outcome.progress.some((n) => n % (5 * 1024 * 1024) !== 0),
    "progress inside parts (XHR upload events)",
  );
  assert.ok(outcome.savedParts >= 1, "finished parts were saved for resume");
  assert.equal(outcome.left, 0, "resume state removed after completion");
});
