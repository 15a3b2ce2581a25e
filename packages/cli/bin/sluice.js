#!/usr/bin/env node
// The `sluice` command. Installed from npm, it runs the built JavaScript in
// ../dist (`npm run build`). Inside this repository, where ../src exists, it
// runs the sources instead, with no build step: they are bundled once by esbuild into
// node_modules/.cache/sluice/<stamp>/ (again whenever a source is newer) and run
// by plain Node: running them through tsx instead costs every process ~35 MiB
// of RSS (its loader thread), which the store and `sluice upload` cannot spare.
// Code splitting keeps lazy imports lazy (`sluice store` never loads the broker).
// If the bundle cannot be built (read-only install, esbuild missing), tsx runs
// the sources directly.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// Node 20 is a supported target; the AWS SDK's notice about its future Node 22 floor would only confuse users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const entry = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const SOURCE_CONDITION = "sluice-source"; // workspace packages' exports that name their TypeScript sources
const cache = join(root, "node_modules", ".cache", "sluice");

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts"))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

async function freshBundle() {
  if (process.env.SLUICE_NO_BUNDLE === "1") return undefined;
  try {
    const packages = join(root, "packages");
    const stamp = String(
      Math.round(Math.max(...readdirSync(packages).map((name) => newestSource(join(packages, name, "src"))))),
    );
    const bundle = join(cache, stamp, "sluice.mjs");
    if (existsSync(bundle)) return bundle;
    const { build } = await import("esbuild");
    mkdirSync(cache, { recursive: true });
    // Built beside and renamed: processes starting at the same time never import half a build.
    const temporary = join(cache, `build-${process.pid}`);
    await build({
      entryPoints: { sluice: entry },
      outdir: temporary,
      outExtension: { ".js": ".mjs" },
      splitting: true,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      conditions: [SOURCE_CONDITION],
      // Our workspace packages are bundled; everything from npm stays an import (native addons, esbuild itself).
      plugins: [
        {
          name: "external-npm-packages",
          setup(b) {
            b.onResolve({ filter: /^[^./]/ }, (args) =>
              args.path.startsWith("@sluice/") ? undefined : { path: args.path, external: true },
            );
          },
        },
      ],
      banner: {
        js: "// Built from packages/*/src by packages/cli/bin/sluice.js; rebuilt when a source changes.",
      },
      logLevel: "silent",
    });
    try {
      renameSync(temporary, dirname(bundle));
    } catch {
      rmSync(temporary, { recursive: true, force: true }); // another process finished first
    }
    // Older builds go once no process can still be loading chunks from them.
    for (const old of readdirSync(cache)) {
      const path = join(cache, old);
      if (old !== stamp && !old.startsWith("build-") && Date.now() - statSync(path).mtimeMs > 3_600_000) {
        rmSync(path, { recursive: true, force: true });
      }
    }
    return bundle;
  } catch {
    return undefined;
  }
}

if (!existsSync(entry)) {
  await import("../dist/main.js");
} else {
  const built = await freshBundle();
  if (built) {
    await import(pathToFileURL(built).href);
  } else {
    const { register } = await import("tsx/esm/api");
    register();
    // Registered last, so it runs first: workspace packages resolve to their sources, as under `npm test`.
    const { register: registerHooks } = await import("node:module");
    registerHooks(
      `data:text/javascript,export function resolve(specifier, context, next) {
        return next(specifier, { ...context, conditions: [...context.conditions, "${SOURCE_CONDITION}"] });
      }`,
    );
    await import("../src/main.ts");
  }
}
