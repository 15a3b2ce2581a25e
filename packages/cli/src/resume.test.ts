// Kill the CLI in the middle of a multipart upload, run it again: it resumes
// and sends again at most the parts that were in flight.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type Fault, randomFile, sha256File, startFaultProxy } from "@sluice/client/testing";
import { freePort } from "@sluice/core/testing";
import { finished, jsonLines, runCli, spawnCli, startServe } from "./test/cli.ts";

const MiB = 1024 * 1024;

test("a killed upload resumes on the next run, re-sending at most the parts in flight", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "sluice-resume-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const home = join(root, "home");
  await mkdir(home);

  // Clients reach the store through a proxy we can slow down, so the kill lands mid-upload.
  const storePort = await freePort();
  const slow: Fault = { kind: "slow", bytesPerSecond: 3 * MiB };
  const proxy = await startFaultProxy(`http://127.0.0.1:${storePort}`, () => slow);
  t.after(() => proxy.close());
  const config = join(root, "sluice.yaml");
  await writeFile(
    config,
    `storage:\n  publicEndpoint: ${proxy.url}\nprofiles:\n  default: { maxSize: 100MB, multipartThreshold: 5MB, partSize: 5MB }\n`,
  );
  const serve = await startServe(
    ["--data", join(root, "data"), "--config", config, "--port", "0", "--store-port", String(storePort)],
    { cwd: root, env: { HOME: home } },
  );
  t.after(() => serve.child.kill("SIGKILL"));

  const file = await randomFile(root, "big.bin", 25 * MiB);
  const client = { cwd: root, env: { HOME: home, SLUICE_URL: serve.url, SLUICE_TOKEN: serve.token } };
  const stateDir = join(home, ".sluice", "uploads");
  const first = spawnCli(["upload", file.path, "--concurrency", "2", "--json"], client);
  const firstDone = finished(first);
  let partsSaved = 0;
  while (partsSaved < 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [state] = await readdir(stateDir).catch(() => []);
    if (state?.endsWith(".json")) {
      partsSaved = Object.keys(JSON.parse(await readFile(join(stateDir, state), "utf8")).parts).length;
    }
  }
  first.kill("SIGKILL");
  assert.equal((await firstDone).signal, "SIGKILL");

  // Bytes of the killed run still drain from socket buffers: count only the second run's connections.
  const secondRun: Fault = { kind: "pass", counter: { up: 0, down: 0 } };
  proxy.plan = () => secondRun;
  const second = await runCli(["upload", file.path, "--concurrency", "2", "--json"], client);
  assert.equal(second.code, 0, second.stderr);
  const [result] = jsonLines<{ id: string; state: string; resumed: boolean }>(second.stdout);
  assert.equal(result?.resumed, true);
  assert.equal(result?.state, "ready");
  const resent = secondRun.counter!.up;
  // 5 parts; parts saved before the kill are not sent again, at most the 2 in flight are.
  const allowed = (5 - partsSaved) * 5 * MiB + 64 * 1024;
  assert.ok(resent <= allowed, `sent ${resent} bytes again, allowed ${allowed}`);
  assert.deepEqual(await readdir(stateDir), [], "the resume state is gone once complete");

  const out = join(root, "copy.bin");
  const download = await runCli(["download", result!.id, "-o", out], client);
  assert.equal(download.code, 0, download.stderr);
  assert.equal(await sha256File(out), file.sha256);
  assert.equal((await serve.stop()).code, 0);
});
