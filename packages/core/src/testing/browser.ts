import { type Browser, chromium, type Page } from "playwright-core";
import { CHROMIUM_ARGS } from "./tiers.ts";

/** Debian's headless Chromium through playwright-core (its own browser download does not work here). */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: [...CHROMIUM_ARGS], headless: true });
}

/** Slows a page's uploads (bytes per second) so progress, pauses and mid-upload reloads can be observed. */
export async function throttleUploads(page: Page, bytesPerSecond: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
}
