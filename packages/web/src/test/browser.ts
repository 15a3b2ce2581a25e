/**
 * Headless Chromium (Debian's, through playwright-core) and a store + broker
 * serving the page, one per test, on 127.0.0.1 port 0.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Harness, startHarness } from "@sluice/broker/testing";
import type { Page } from "playwright-core";
import { createWebPages } from "../index.ts";

export const PROFILES = {
  default: {
    maxSize: "100MB",
    types: ["image/png", "text/plain", "application/octet-stream"],
    multipartThreshold: "5MiB",
    partSize: "5MiB",
  },
};

export { launchChromium as launch, throttleUploads } from "@sluice/core/testing";

export interface Site {
  harness: Harness;
  /** A temp directory for the test's files, removed by close(). */
  dir: string;
  close(): Promise<void>;
}

export async function startSite(config: Record<string, unknown> = {}): Promise<Site> {
  const harness = await startHarness({
    config: { profiles: PROFILES, ...config },
    broker: { web: createWebPages() },
  });
  const dir = await mkdtemp(join(tmpdir(), "sluice-web-"));
  return {
    harness,
    dir,
    async close() {
      await harness.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Opens the page and signs in with alice's token. */
export async function signIn(page: Page, site: Site): Promise<void> {
  await page.goto(site.harness.url);
  await page.fill("#token", await site.harness.token());
  await page.click("#signin-form button[type=submit]");
  await page.waitForSelector("#workspace:not([hidden])");
}

/** The row of the file called `name` (the newest one if several). */
export function row(page: Page, name: string) {
  return page.locator("li.file", { has: page.locator(".name", { hasText: name }) }).first();
}
