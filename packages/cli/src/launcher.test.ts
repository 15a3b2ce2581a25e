// bin/sluice.js runs the CLI from an esbuild bundle in node_modules/.cache/sluice/<stamp>/,
// and from the TypeScript sources through tsx when the bundle is turned off or cannot be built.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli } from "./test/cli.ts";

const cache = fileURLToPath(new URL("../../../node_modules/.cache/sluice/", import.meta.url));

test("the bundled CLI and the tsx fallback answer alike, and the bundle is kept in the cache", async () => {
  const bundled = await runCli(["--help"], { cwd: tmpdir(), env: {} });
  const fromSources = await runCli(["--help"], { cwd: tmpdir(), env: { SLUICE_NO_BUNDLE: "1" } });
  assert.equal(bundled.code, 0, bundled.stderr);
  assert.equal(fromSources.code, 0, fromSources.stderr);
  assert.match(bundled.stdout, /upload \[options\] <files\.\.\.>/);
  assert.equal(bundled.stdout, fromSources.stdout);
  const builds = readdirSync(cache).filter((name) => existsSync(join(cache, name, "sluice.mjs")));
  assert.ok(builds.length >= 1, `a build in ${cache}`);
});
