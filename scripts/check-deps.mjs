#!/usr/bin/env node
// Lint step: every package a published source file imports (reachable from the
// package's built exports or its bin) is declared in that package's
// dependencies, peerDependencies or optionalDependencies, so an install outside
// this repository finds it. Test files and source-only exports (./testing) may
// use the root's devDependencies. A small script rather than knip or depcheck:
// it follows exactly what the build publishes (the export conditions below),
// needs no configuration for our source condition, and reports only this.
import { builtinModules } from "node:module";
import {
  packageName,
  publishedEntries,
  reachableSources,
  relativeToRoot,
  workspacePackages,
} from "./package-graph.mjs";

const builtins = new Set(builtinModules);
const problems = [];
for (const pkg of workspacePackages()) {
  const { manifest } = pkg;
  const declared = new Set([
    manifest.name,
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
  ]);
  const files = reachableSources(publishedEntries(manifest, pkg.dir));
  for (const [file, specifiers] of files) {
    for (const specifier of specifiers) {
      const name = packageName(specifier);
      if (builtins.has(name) || declared.has(name)) continue;
      problems.push(`${relativeToRoot(file)} imports "${specifier}", not a dependency of ${manifest.name}`);
    }
  }
}
if (problems.length > 0) {
  console.error(
    `Undeclared runtime imports (add them to the package's "dependencies"):\n  ${problems.join("\n  ")}`,
  );
  process.exit(1);
}
console.log("check-deps: every runtime import is a declared dependency");
