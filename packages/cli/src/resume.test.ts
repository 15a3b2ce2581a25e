// Kill the CLI in the middle of a multipart upload, or while the broker
// completes it, run it again: it resumes, sends again at most the parts that
// were in flight, and never makes a second upload.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { type Fault, type FaultProxy, randomFile, sha256File, startFaultProxy } from "@sluice/client/testing";
import { freePort } from "@sluice/core/testing";
import { startBrokerProxy } from "./test/broker-proxy.ts";
import { finished, jsonLines, runCli, spawnCli, startServe } from "./test/cli.ts";

const MiB = 1024 * 1024;

/**
 * `sluice serve` with clients reaching the store through a fault proxy (to slow
 * it down and count the bytes sent) and the broker through a broker proxy (to
 * hold answers back), and a client environment pointing at both.
 */
async function startStack(t: TestContext) {
  const root = await mkdtemp(join(tmpdir(), "sluice-resume-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const home = join(root, "home");
  await mkdir(home);
  const storePort = await freePort();
  const proxy = await startFaultProxy(`http://127.0.0.1:${storePort}`, () => ({ kind: "pass" }));
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
  const broker = await startBrokerProxy(serve.url);
  t.after(() => broker.close());
  const client = { cwd: root, env: { HOME: home, SLUICE_URL: broker.url, SLUICE_TOKEN: serve.token } };
  return { root, proxy, serve, broker, client, stateDir: join(home, ".sluice", "uploads") };
}

/** Bytes the next connections to the store send (older connections still drain from socket buffers). */
function countNextConnections(proxy: FaultProxy): { up: number; down: number } {
  const counted: Fault = { kind: "pass", counter: { up: 0, down: 0 } };
  proxy.plan = () => counted;
  return counted.counter!;
}

test("a killed upload resumes on the next run, re-sending at most the parts in flight", async (t) => {
  const { root, proxy, serve, client, stateDir } = await startStack(t);
  // Slow storage, so the kill lands mid-upload.
  const slow: Fault = { kind: "slow", bytesPerSecond: 3 * MiB };
  proxy.plan = () => slow;

  const file = await randomFile(root, "big.bin", 25 * MiB);
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

  const listed = await runCli(["ls", "--interrupted", "--json"], client);
  assert.equal(listed.code, 0, listed.stderr);
  const [interrupted, ...others] = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
  assert.deepEqual(others, []);
  assert.equal(interrupted!.path, file.path);
  assert.equal(interrupted!.size, 25 * MiB);
  assert.ok((interrupted!.partsDone as number) >= partsSaved, `${interrupted!.partsDone} parts done`);
  assert.equal(interrupted!.bytesDone, (interrupted!.partsDone as number) * 5 * MiB);
  const shown = await runCli(["ls", "--interrupted"], client);
  assert.match(shown.stdout, new RegExp(`${interrupted!.uploadId} .* MiB of 25\\.0 MiB .*big\\.bin\\n`));
  assert.match(shown.stdout, /Resume one with `sluice upload FILE`/);

  const secondRun = countNextConnections(proxy);
  const second = await runCli(["upload", file.path, "--concurrency", "2", "--json"], client);
  assert.equal(second.code, 0, second.stderr);
  const [result] = jsonLines<{ id: string; state: string; resumed: boolean }>(second.stdout);
  assert.equal(result?.resumed, true);
  assert.equal(result?.state, "ready");
  const resent = secondRun.up;
  // 5 parts; parts saved before the kill are not sent again, at most the 2 in flight are.
  const allowed = (5 - partsSaved) * 5 * MiB + 64 * 1024;
  t.diagnostic(`recovery: ${resent} of ${25 * MiB} bytes sent again (${partsSaved} parts saved)`);
  assert.ok(resent <= allowed, `sent ${resent} bytes again, allowed ${allowed}`);
  assert.deepEqual(await readdir(stateDir), [], "the resume state is gone once complete");
  assert.match((await runCli(["ls", "--interrupted"], client)).stdout, /^No interrupted uploads\.\n$/);

  const out = join(root, "copy.bin");
  const download = await runCli(["download", result!.id, "-o", out], client);
  assert.equal(download.code, 0, download.stderr);
  assert.equal(await sha256File(out), file.sha256);
  assert.equal((await serve.stop()).code, 0);
});

test("killed (Ctrl-C) while the broker completes: the next run finds the upload and sends nothing again", async (t) => {
  const { root, proxy, broker, client, stateDir } = await startStack(t);
  const file = await randomFile(root, "done.bin", 12 * MiB);
  broker.fault = "hold-complete";
  const first = spawnCli(["upload", file.path, "--json"], client);
  const firstDone = finished(first);
  const held = await broker.held();
  assert.equal(held.status, 200, "the broker completed the upload; the CLI never heard");
  const completed = JSON.parse(held.body) as { id: string; state: string };
  first.kill("SIGINT");
  assert.equal((await firstDone).code, 130);
  assert.equal((await readdir(stateDir)).length, 1, "the resume state is still there");

  broker.fault = "pass";
  const secondRun = countNextConnections(proxy);
  const started = performance.now();
  const second = await runCli(["upload", file.path, "--json"], client);
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  assert.equal(second.code, 0, second.stderr);
  const [result] = jsonLines<{ id: string; state: string; resumed: boolean }>(second.stdout);
  assert.deepEqual(
    { id: result?.id, state: result?.state, resumed: result?.resumed },
    { id: completed.id, state: "ready", resumed: true },
  );
  t.diagnostic(`recovery: ${seconds} s, ${secondRun.up} bytes sent again`);
  assert.equal(secondRun.up, 0, "the second run sent no bytes to storage");
  assert.deepEqual(await readdir(stateDir), []);
  const ls = await runCli(["ls", "--json"], client);
  const files = JSON.parse(ls.stdout) as Array<{ name: string }>;
  assert.equal(files.filter((f) => f.name === "done.bin").length, 1, "one upload record, not two");
});

test("once complete answered ready, a broker blip while polling cannot turn the upload into a failure", async (t) => {
  const { root, broker, client } = await startStack(t);
  const file = await randomFile(root, "small.bin", 64 * 1024);
  broker.fault = "blip-status";
  const run = await runCli(["upload", file.path, "--json"], client);
  assert.equal(run.code, 0, run.stderr);
  const [result] = jsonLines<{ state: string }>(run.stdout);
  assert.equal(result?.state, "ready");
});
