// `npm test` itself (scripts/test.mjs + scripts/summary-reporter.mjs) on a few
// throw-away test files: skips are counted, a hang fails with the file's name.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const RUNNER = fileURLToPath(new URL("../../../../scripts/test.mjs", import.meta.url));

const FILES: Record<string, string> = {
  "passes.test.ts": `import { test } from "node:test"; test("passes", () => {});`,
  // How a tier whose server is missing skips: the whole suite, with the reason.
  "tier.test.ts": `import { describe, it } from "node:test";
describe("on PostgreSQL", { skip: "PostgreSQL not running" }, () => { it("a", () => {}); it("b", () => {}); });
describe("on RGW", { skip: "Ceph RGW not running" }, () => { it("c", () => {}); });`,
  "one-skip.test.ts": `import { test } from "node:test"; test("later", { skip: "not here" }, () => {});`,
  // What a test waiting on a port that never opens looks like: a pending promise and a live handle.
  "hangs.test.ts": `import { test } from "node:test"; setInterval(() => {}, 1000);
test("waits forever", () => new Promise(() => {}));`,
};

function runTests(dir: string): Promise<{ code: number | null; stdout: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_TEST_DIR: dir, SLUICE_TEST_FILE_TIMEOUT: "30000" };
  delete env.NODE_TEST_CONTEXT; // set for us by the outer runner; the inner one must be a runner too
  const child = spawn(process.execPath, [RUNNER], { env, stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout })));
}

describe("npm test", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-runner-"));
    for (const [name, text] of Object.entries(FILES)) await writeFile(join(dir, name), `${text}\n`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("counts skipped tier suites in the summary and fails a hanging file by name", async () => {
    const { code, stdout } = await runTests(dir);
    assert.equal(code, 1);
    assert.match(stdout, /\n1 passed, 1 failed, 3 skipped\n/);
    assert.match(stdout, /hangs\.test\.ts[^\n]*\n\s*'test timed out after 30000ms'/);
  });
});
