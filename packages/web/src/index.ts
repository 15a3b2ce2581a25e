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
import { uploadPage } from "./page.ts";

export { type Asset, BUNDLES, bundleOptions, loadAssets } from "./assets.ts";

export function createWebPages(): WebHandler {
  // Build the bundles now, so the first visitor does not wait for esbuild.
  loadAssets().catch(() => {});
  return async (request, host) => {
    const { pathname } = new URL(request.url);
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
