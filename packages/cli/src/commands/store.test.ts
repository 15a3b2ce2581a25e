// `sluice store` alone: credentials generated once (0600) and kept, secret never printed, clean stop.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { finished, spawnCli } from "../test/cli.ts";

async function runStore(root: string): Promise<{ stdout: string; code: number | null }> {
  const child = spawnCli(["store", "--data", "d", "--port", "0"], { cwd: root, env: { HOME: root } });
  const done = finished(child);
  let stdout = "";
  await new Promise<void>((resolve) =>
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes("Stop with Ctrl-C.")) resolve();
    }),
  );
  const endpoint = /Endpoint:\s+(\S+)/.exec(stdout)?.[1];
  assert.ok(endpoint, stdout);
  // Anonymous requests are refused by real SigV4 checks: the store is up and not open.
  assert.equal((await fetch(`${endpoint}/sluice/x`)).status, 403);
  child.kill("SIGINT");
  return { stdout, code: (await done).code };
}

test("sluice store keeps its generated credentials private and stable, and stops on Ctrl-C", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "sluice-store-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const first = await runStore(root);
  assert.equal(first.code, 0);
  const file = join(root, "d", "store-credentials.json");
  const credentials = JSON.parse(await readFile(file, "utf8"));
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.ok(first.stdout.includes(credentials.accessKeyId));
  assert.ok(!first.stdout.includes(credentials.secretAccessKey), "the secret is never printed");
  const second = await runStore(root);
  assert.equal(second.code, 0);
  assert.equal(JSON.parse(await readFile(file, "utf8")).accessKeyId, credentials.accessKeyId);
});
