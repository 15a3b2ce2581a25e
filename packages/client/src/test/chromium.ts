/**
 * Headless Chromium on a page of a real broker (with the web pages, so it
 * serves /assets/sluice-client.js and /assets/sluice-react.js) and a real
 * store, for the SDK's browser tests. The page's origin is the broker's, which
 * the bucket's CORS rules allow.
 */
import { type Harness, startHarness } from "@sluice/broker/testing";
import { launchChromium } from "@sluice/core/testing";
import { createWebPages } from "@sluice/web";
import type { Browser, Page } from "playwright-core";

export interface BrowserSite {
  harness: Harness;
  browser: Browser;
  token: string;
  /** A fresh tab on the broker's origin. */
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function startBrowserSite(executablePath: string): Promise<BrowserSite> {
  const harness = await startHarness({
    config: { profiles: { default: { maxSize: "100MB", multipartThreshold: "5MiB", partSize: "5MiB" } } },
    broker: { web: createWebPages() },
  });
  const browser = await launchChromium(executablePath);
  return {
    harness,
    browser,
    token: await harness.token(),
    async newPage() {
      const page = await browser.newPage();
      await page.goto(`${harness.url}/assets/sluice-client.js`);
      return page;
    },
    async close() {
      await browser.close();
      await harness.close();
    },
  };
}

/** Caps the page's upload rate (bytes per second) so progress and mid-upload events can be observed. */
/** Runs `source` (a function's text, kept away from the test runner's transpiler) in the page with `args`. */
export function inPage<T>(page: Page, source: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(`(${source})(${args.map((a) => JSON.stringify(a)).join(", ")})`) as Promise<T>;
}

export { throttleUploads } from "@sluice/core/testing";
