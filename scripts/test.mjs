#!/usr/bin/env node
// Runs every `*.test.ts` beside the code (packages/*/src) with Node's own test
// runner through tsx, prints the spec report, and ends with one line
// "N passed, N failed, N skipped" that CI reads.
// Usage: npm test [-- <path filter>...]   e.g. npm test -- store/src/sigv4
// Every file runs under a timeout (SLUICE_TEST_FILE_TIMEOUT in ms, default 15 min;
// under Node 20 --test-timeout bounds each file's process), so a hang fails
// with the file's name instead of stalling CI.
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules" || entry.startsWith(".")) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (entry.endsWith(".test.ts")) found.push(path);
  }
  return found;
}

const filters = process.argv.slice(2);
const files = findTests(process.env.SLUICE_TEST_DIR ?? join(root, "packages"))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((needle) => f.includes(needle)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ") || "packages/*/src/**/*.test.ts"}`);
  process.exit(1);
}

const child = spawn(
  process.execPath,
  [
    "--conditions=sluice-source",
    "--import",
    "tsx",
    "--test",
    `--test-concurrency=${process.env.SLUICE_TEST_CONCURRENCY ?? "2"}`,
    `--test-timeout=${process.env.SLUICE_TEST_FILE_TIMEOUT ?? "900000"}`,
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=./scripts/summary-reporter.mjs",
    "--test-reporter-destination=stdout",
    ...files,
  ],
  {
    cwd: root,
    stdio: "inherit",
    // Node 20 is our target on purpose; the AWS SDK's notice about its future Node 22 floor is noise here.
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...process.env,
      // Workspace packages resolve to their TypeScript sources (the "sluice-source" export condition), in
      // the test processes and in every node process they start.
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --conditions=sluice-source`.trim(),
    },
  },
);
child.on("exit", (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
