/**
 * The browser files the page serves, built with esbuild from source when the
 * page is first asked for (in memory, nothing written or committed):
 * - sluice-client.js: the SDK's browser entry as one ESM module any app can import;
 * - sluice-react.js: the useUpload hook (imports "react" and ./sluice-client.js);
 * - app.js: the page script, which imports the SDK from ./sluice-client.js, so
 *   the SDK code is served once and never duplicated into the page;
 * - app.css.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build, type Plugin } from "esbuild";

export interface Asset {
  body: string;
  contentType: string;
}

/** Served file name → esbuild entry point. Resolved by package name, not by this file's URL, so they
 * are found the same when the CLI runs from its prebuilt bundle (packages/cli/bin/sluice.js). */
export const BUNDLES = {
  "sluice-client.js": import.meta.resolve("@sluice/client/browser"),
  "sluice-react.js": import.meta.resolve("@sluice/client/react"),
  "app.js": import.meta.resolve("@sluice/web/browser/app.ts"),
} as const;

/** Imports of the SDK from the other bundles load the served SDK bundle instead of inlining a copy. */
const sdkAsSibling: Plugin = {
  name: "sluice-sdk-sibling",
  setup(b) {
    const sibling = { path: "./sluice-client.js", external: true };
    b.onResolve({ filter: /^@sluice\/client(\/browser)?$/ }, () => sibling);
    b.onResolve({ filter: /^\.\/queue\.ts$/ }, (args) =>
      args.importer.endsWith("react.ts") ? sibling : undefined,
    );
  },
};

export function bundleOptions(name: keyof typeof BUNDLES): BuildOptions {
  return {
    entryPoints: [fileURLToPath(BUNDLES[name])],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    sourcemap: false,
    legalComments: "none",
    external: ["react"],
    plugins: name === "sluice-client.js" ? [] : [sdkAsSibling],
    logLevel: "silent",
  };
}

async function buildBundle(name: keyof typeof BUNDLES): Promise<Asset> {
  const result = await build({ ...bundleOptions(name), write: false });
  return { body: result.outputFiles![0]!.text, contentType: "text/javascript; charset=utf-8" };
}

/** Builds every asset once; later calls share the same promise. */
export function loadAssets(): Promise<Map<string, Asset>> {
  cached ??= (async () => {
    const names = Object.keys(BUNDLES) as Array<keyof typeof BUNDLES>;
    const bundles = await Promise.all(names.map(async (name) => [name, await buildBundle(name)] as const));
    const css = await readFile(fileURLToPath(import.meta.resolve("@sluice/web/browser/app.css")), "utf8");
    return new Map<string, Asset>([
      ...bundles,
      ["app.css", { body: css, contentType: "text/css; charset=utf-8" }],
    ]);
  })();
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}
let cached: Promise<Map<string, Asset>> | undefined;
