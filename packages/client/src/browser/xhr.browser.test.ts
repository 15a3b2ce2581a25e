// The SDK's browser build in headless Chromium: XHR upload progress, parallel
// parts, resume state saved while uploading, against a real broker and store.
import assert from "node:assert/strict";
import { test } from "node:test";
import { chromiumTier } from "@sluice/core/testing";
import { inPage, startBrowserSite, throttleUploads } from "../test/chromium.ts";
import { READ_RECORDS } from "../test/indexed-db-page.ts";

const tier = chromiumTier();

const UPLOAD = `async (token) => {
  const sdk = await import("/assets/sluice-client.js");
  const client = sdk.createClient({ endpoint: location.origin, token });
  const bytes = new Uint8Array(12 * 1024 * 1024).map((_, i) => (i * 7) % 256);
  const file = new File([bytes], "browser.bin", { type: "application/octet-stream", lastModified: 1 });
  const progress = [];
  let savedParts = 0;
  let watching = true;
  const watch = (async () => {
    for (; watching; await new Promise((resolve) => setTimeout(resolve, 5))) {
      for (const { value } of await (${READ_RECORDS})()) savedParts = Math.max(savedParts, Object.keys(value.parts).length);
    }
  })();
  const result = await client.upload(file, { profile: "default", onProgress: (p) => progress.push(p.bytesSent) });
  watching = false;
  await watch;
  const settled = await client.waitUntilSettled(result.id);
  return { method: result.method, state: settled.state, progress, savedParts, left: (await (${READ_RECORDS})()).length };
}`;

test("in a browser: XHR progress events, multipart, ready; resume state kept while uploading", {
  skip: tier.available ? false : tier.reason,
}, async (t) => {
  const site = await startBrowserSite(tier.available ? tier.value : "");
  t.after(() => site.close());
  const page = await site.newPage();
  // About a second of upload, so progress events and saved parts can be observed.
  await throttleUploads(page, 12 * 1024 * 1024);
  const outcome = await inPage<{
    method: string;
    state: string;
    progress: number[];
    savedParts: number;
    left: number;
  }>(page, UPLOAD, site.token);
  assert.equal(outcome.method, "multipart");
  assert.equal(outcome.state, "ready");
  assert.equal(outcome.progress.at(-1), 12 * 1024 * 1024);
  assert.ok(
    outcome.progress.some((n) => n % (5 * 1024 * 1024) !== 0),
    "progress inside parts (XHR upload events)",
  );
  assert.ok(outcome.savedParts >= 1, "finished parts were saved for resume (in IndexedDB, the default)");
  assert.equal(outcome.left, 0, "resume state removed after completion");
});
