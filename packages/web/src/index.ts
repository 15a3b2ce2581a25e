/**
 * @sluice/web: the drop-in page, served by the broker for paths its API does
 * not answer. Mount it with `startBroker(config, { web: createWebPages() })`
 * (what `sluice serve` does).
 *
 * Routes: `/` the upload page (JavaScript), `/assets/*` its script, style and
 * the SDK's browser bundle (`/assets/sluice-client.js`, importable by any
 * app), `/form` the plain upload form that works without JavaScript.
 */
import type { WebHandler } from "@sluice/broker";
import { loadAssets } from "./assets.ts";
import { createFormHandler } from "./form/handler.ts";
import { uploadPage } from "./page.ts";

export { type Asset, loadAssets } from "./assets.ts";

export interface WebPagesOptions {
  /** Key material for the form's session cookies; set the same value on every broker behind one load balancer (default: a key of this process). */
  sessionSecret?: string;
}

export function createWebPages(options: WebPagesOptions = {}): WebHandler {
  // Load (or, from the sources, build) the assets now, so the first visitor does not wait.
  loadAssets().catch(() => {});
  const form = createFormHandler(options);
  return async (request, host) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/form" || pathname.startsWith("/form/")) return form(request, host);
    if (request.method !== "GET" && request.method !== "HEAD") return undefined;
    if (pathname === "/") return uploadPage(host);
    if (pathname.startsWith("/assets/")) return assetResponse(pathname.slice("/assets/".length));
    return undefined;
  };
}

async function assetResponse(name: string): Promise<Response | undefined> {
  const asset = (await loadAssets()).get(name);
  if (!asset) return undefined;
  return new Response(asset.body, {
    headers: {
      "content-type": asset.contentType,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      // Any app may import the SDK bundle from here.
      ...(name.startsWith("sluice-") ? { "access-control-allow-origin": "*" } : {}),
    },
  });
}
