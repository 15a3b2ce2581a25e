#!/usr/bin/env node
// `npm run build`: every workspace package to JavaScript in packages/*/dist.
// - tsc emits ESM and .d.ts file by file: the compiler that already checks the
//   types, readable output and stack traces that name our files (the pack test,
//   npm run test:pack, then checks a consumer against the published .d.ts);
// - esbuild adds what tsc cannot: CommonJS builds of @sluice/client and
//   @sluice/core (one file per entry, npm packages left as require()), the
//   SDK's single-file browser bundle (@sluice/client/bundle), and the web
//   page's assets (@sluice/web serves them from dist/assets).
// Runs under tsx with the source condition (it imports the asset bundler's sources).
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { build } from "esbuild";
import {
  publishedEntries,
  reachableSources,
  root,
  SOURCE_CONDITION,
  workspacePackages,
} from "./package-graph.mjs";

const packages = workspacePackages();
const byName = new Map(packages.map((p) => [p.name, p]));

/** Relative imports of .ts files, as the built .js files are named (tsc rewrites them in .js, not in .d.ts). */
function rewriteDeclarations(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) rewriteDeclarations(path);
    else if (entry.endsWith(".d.ts")) {
      const text = readFileSync(path, "utf8");
      writeFileSync(path, text.replace(/(["'])(\.\.?\/[^"']*)\.ts\1/g, "$1$2.js$1"));
    }
  }
}

/**
 * One tsc program over every package's published entries (one type check instead of one per
 * package), emitted to a scratch directory and moved to each package's dist. Imports of other
 * workspace packages stay bare specifiers, resolved by the user's install to their dist.
 */
function compileAll() {
  const scratch = join(tmpdir(), `sluice-build-${process.pid}`);
  const config = `${scratch}.json`;
  const entries = new Map(packages.map((pkg) => [pkg, publishedEntries(pkg.manifest, pkg.dir)]));
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(root, "tsconfig.json"),
      compilerOptions: {
        noEmit: false,
        declaration: true,
        rewriteRelativeImportExtensions: true,
        rootDir: join(root, "packages"),
        outDir: scratch,
        typeRoots: [join(root, "node_modules/@types")],
      },
      files: [...entries.values()].flat().map((e) => e.source),
      include: [],
    }),
  );
  try {
    execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", config], {
      stdio: "inherit",
    });
    for (const [pkg, published] of entries) {
      const src = join(pkg.dir, "src");
      const built = join(scratch, relative(join(root, "packages"), src));
      if (published.length === 0 || !existsSync(built)) continue;
      const dist = join(pkg.dir, "dist");
      rmSync(dist, { recursive: true, force: true });
      cpSync(built, dist, { recursive: true });
      rewriteDeclarations(dist);
      // Only what the entries reach (the program also holds the files other packages' sources import).
      const kept = new Set(
        [...reachableSources(published).keys()].map((file) => relative(src, file).replace(/\.ts$/, "")),
      );
      pruneDist(dist, dist, kept);
    }
  } finally {
    rmSync(config, { force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Removes built files whose source is not reached from the package's entries (sources-only modules). */
function pruneDist(dir, dist, kept) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      pruneDist(path, dist, kept);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
    } else if (!kept.has(relative(dist, path).replace(/\.(d\.ts|js)$/, ""))) rmSync(path);
  }
}

/** One CommonJS file per entry; npm packages (and our other packages) stay require() calls. */
async function commonJs(pkg, entries) {
  await Promise.all(
    Object.entries(entries).map(([out, { source, platform }]) =>
      build({
        entryPoints: [join(pkg.dir, source)],
        outfile: join(pkg.dir, "dist", out),
        bundle: true,
        packages: "external",
        platform,
        format: "cjs",
        target: "node20",
        logLevel: "warning",
      }),
    ),
  );
}

const started = Date.now();
for (const pkg of packages) rmSync(join(pkg.dir, "dist"), { recursive: true, force: true });
compileAll();

await commonJs(byName.get("@sluice/core"), { "index.cjs": { source: "src/index.ts", platform: "neutral" } });
await commonJs(byName.get("@sluice/client"), {
  "index.cjs": { source: "src/index.ts", platform: "neutral" },
  "node.cjs": { source: "src/node.ts", platform: "node" },
});

const { bundleAssets, bundleOptions } = await import("../packages/web/src/assets-bundle.ts");
const client = byName.get("@sluice/client");
await build({
  ...bundleOptions("sluice-client.js"),
  outfile: join(client.dir, "dist/bundle/sluice-client.js"),
});
const assets = join(byName.get("@sluice/web").dir, "dist/assets");
mkdirSync(assets, { recursive: true });
for (const [name, asset] of await bundleAssets()) writeFileSync(join(assets, name), asset.body);

console.log(
  `build done in ${((Date.now() - started) / 1000).toFixed(1)} s (source condition: ${SOURCE_CONDITION})`,
);
