/**
 * Builds the browser files the page serves with esbuild, from the TypeScript
 * sources: `npm run build` writes them to dist/assets/ (what an installed
 * @sluice/web serves), and inside this repository assets.ts builds them in
 * memory on first use, so the page works without a build step.
 * - sluice-client.js: the SDK's browser entry as one ESM module any app can import
 *   (also published as @sluice/client/bundle);
 * - sluice-react.js: the useUpload hook (imports "react" and ./sluice-client.js);
 * - app.js: the page script, which imports the SDK from ./sluice-client.js, so
 *   the SDK code is served once and never duplicated into the page;
 * - app.css.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build, type Plugin } from "esbuild";
import type { Asset } from "./assets.ts";

/** A source file of a workspace package, found by package name (so found from the CLI's bundle too,
 * which runs without the source export condition). */
function source(pkg: "@sluice/client" | "@sluice/web", path: string): string {
  return fileURLToPath(new URL(path, import.meta.resolve(`${pkg}/package.json`)));
}

/** Served file name → esbuild entry point. */
export const BUNDLES = {
  "sluice-client.js": source("@sluice/client", "src/index.ts"),
  "sluice-react.js": source("@sluice/client", "src/react.ts"),
  "app.js": source("@sluice/web", "src/browser/app.ts"),
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
    entryPoints: [BUNDLES[name]],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    sourcemap: false,
    legalComments: "none",
    external: ["react"],
    conditions: ["sluice-source"],
    plugins: name === "sluice-client.js" ? [] : [sdkAsSibling],
    logLevel: "silent",
  };
}

/** Every asset, built in memory. */
export async function bundleAssets(): Promise<Map<string, Asset>> {
  const names = Object.keys(BUNDLES) as Array<keyof typeof BUNDLES>;
  const bundles = await Promise.all(
    names.map(async (name) => {
      const result = await build({ ...bundleOptions(name), write: false });
      return [name, { body: result.outputFiles![0]!.text, contentType: JAVASCRIPT }] as const;
    }),
  );
  const css = await readFile(source("@sluice/web", "src/browser/app.css"), "utf8");
  return new Map<string, Asset>([...bundles, ["app.css", { body: css, contentType: CSS }]]);
}

export const JAVASCRIPT = "text/javascript; charset=utf-8";
export const CSS = "text/css; charset=utf-8";
