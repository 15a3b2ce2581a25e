// What each workspace package publishes: its entry points (the export targets
// that have a built file, not the source-only ones such as ./testing) and every
// source file reachable from them through relative imports, with the bare
// imports those files make. Used by check-deps.mjs (lint) and build.mjs.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));
/** The export condition that points at TypeScript sources inside this repository. */
export const SOURCE_CONDITION = "sluice-source";

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s(?:[^'"`;]*?\sfrom\s*)?["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\.meta\.resolve\(\s*["']([^"']+)["']\s*\)/g;

/** `import(/* sources-only *\/ "./x.ts")`: a module used only when running from the sources, left out of dist. */
const SOURCES_ONLY = /import\(\s*\/\*\s*sources-only\s*\*\/\s*["']([^"']+)["']\s*\)/g;

/** Bare and relative specifiers imported by a source text (type-only imports included: they end up in .d.ts). */
export function importsOf(text) {
  const withoutComments = text
    .replace(SOURCES_ONLY, "")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  return [...withoutComments.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** "@scope/name/sub" → "@scope/name"; "name/sub" → "name". */
export function packageName(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

export function workspacePackages() {
  const dir = join(root, "packages");
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, "package.json")))
    .map((name) => {
      const path = join(dir, name);
      const manifest = JSON.parse(readFileSync(join(path, "package.json"), "utf8"));
      return { name: manifest.name, dir: path, manifest };
    });
}

/** Source entry points of the published exports (those with a built target next to the source one). */
export function publishedEntries(manifest, dir) {
  const entries = [];
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    if (typeof target !== "object" || target === null) continue;
    const source = target[SOURCE_CONDITION];
    if (typeof source !== "string" || Object.keys(target).length === 1) continue;
    if (source.includes("*")) continue; // pattern exports (web's browser files) are reached by imports
    entries.push({ subpath, source: resolve(dir, source) });
  }
  if (manifest.bin) {
    for (const bin of Object.values(typeof manifest.bin === "string" ? { b: manifest.bin } : manifest.bin)) {
      const main = resolve(dir, dirname(bin), "../src/main.ts");
      if (existsSync(main)) entries.push({ subpath: "bin", source: main });
    }
  }
  return entries;
}

/** Every source file reachable from the entries (sources-only imports not followed), and the bare specifiers each imports. */
export function reachableSources(entries) {
  const files = new Map();
  const queue = entries.map((e) => e.source);
  while (queue.length > 0) {
    const file = queue.pop();
    if (files.has(file)) continue;
    const specifiers = importsOf(readFileSync(file, "utf8"));
    files.set(
      file,
      specifiers.filter((s) => !s.startsWith(".") && !s.startsWith("node:")),
    );
    for (const s of specifiers) {
      if (!s.startsWith(".")) continue;
      const target = resolve(dirname(file), s);
      if (/\.(ts|tsx|mts)$/.test(target) && existsSync(target)) queue.push(target);
    }
  }
  return files;
}

export function relativeToRoot(file) {
  return relative(root, file);
}
