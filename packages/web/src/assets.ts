/**
 * The browser files the page serves (see assets-bundle.ts): read from
 * dist/assets/ in a built package, where `npm run build` put them, or built
 * from the sources in memory on first use inside this repository.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";

export interface Asset {
  body: string;
  contentType: string;
}

/** Beside the built module (dist/assets.js → dist/assets/); absent beside the sources. */
const PREBUILT = new URL("./assets/", import.meta.url);

async function readPrebuilt(): Promise<Map<string, Asset>> {
  const entries = await Promise.all(
    (await readdir(PREBUILT)).map(async (name) => {
      const body = await readFile(new URL(name, PREBUILT), "utf8");
      const contentType = name.endsWith(".css")
        ? "text/css; charset=utf-8"
        : "text/javascript; charset=utf-8";
      return [name, { body, contentType }] as const;
    }),
  );
  return new Map(entries);
}

/** Loads every asset once; later calls share the same promise. */
export function loadAssets(): Promise<Map<string, Asset>> {
  cached ??= existsSync(PREBUILT)
    ? readPrebuilt()
    : // esbuild and the SDK's sources are there in this repository; the build leaves this module out of dist.
      import(/* sources-only */ "./assets-bundle.ts").then((bundler) => bundler.bundleAssets());
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}
let cached: Promise<Map<string, Asset>> | undefined;
