// `npm run bench [-- <path filter>]`: runs every packages/*/bench/*.bench.ts in
// turn (each prints its own table with ratios against a named baseline).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// Node 20 is our target on purpose; the AWS SDK's notice about its future Node 22 floor is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// Workers the benchmarks start resolve workspace packages to their sources, as this process does.
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --conditions=sluice-source`.trim();

const root = fileURLToPath(new URL("..", import.meta.url));
const filters = process.argv.slice(2);
const benches: string[] = [];
for (const pkg of readdirSync(join(root, "packages"))) {
  const dir = join(root, "packages", pkg, "bench");
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    continue; // this package has no benchmarks
  }
  // Relative to the repository, so a filter never matches the checkout's own path.
  for (const entry of entries.filter((e) => e.endsWith(".bench.ts")))
    benches.push(join("packages", pkg, "bench", entry));
}
const selected = benches.filter((b) => filters.length === 0 || filters.some((f) => b.includes(f))).sort();
for (const bench of selected) {
  console.log(`\n== ${bench}`);
  const module = (await import(pathToFileURL(join(root, bench)).href)) as { default: () => Promise<void> };
  await module.default();
}
