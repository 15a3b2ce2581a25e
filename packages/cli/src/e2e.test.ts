// Issue 2's first path, end to end through the CLI as separate processes:
// serve, upload (PUT grant, bytes straight to the store, completion, HEAD
// check, ready), download (presigned GET), identical SHA-256, clean Ctrl-C,
// and nothing written outside the data directory.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { randomFile, sha256File } from "@sluice/client/testing";
import { jsonLines, runCli, startServe } from "./test/cli.ts";

test("sluice serve + upload + download as separate processes round-trip a file", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "sluice-e2e-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const work = join(root, "work");
  const serveHome = join(root, "serve-home");
  const clientHome = join(root, "client-home");
  const files = join(root, "files");
  for (const dir of [work, serveHome, clientHome, files]) await mkdir(dir);

  const serve = await startServe(["--data", "data", "--port", "0", "--store-port", "0"], {
    cwd: work,
    env: { HOME: serveHome },
  });
  t.after(() => serve.child.kill("SIGKILL"));
  assert.match(serve.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(serve.storeEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);

  const file = await randomFile(files, "photo.bin", 3 * 1024 * 1024 + 17);
  const client = { cwd: files, env: { HOME: clientHome, SLUICE_URL: serve.url, SLUICE_TOKEN: serve.token } };
  const upload = await runCli(["upload", file.path, "--json"], client);
  assert.equal(upload.code, 0, upload.stderr);
  const [uploaded] = jsonLines<{
    id: string;
    state: string;
    method: string;
    size: number;
  }>(upload.stdout);
  assert.equal(uploaded?.method, "put");
  assert.equal(uploaded?.state, "ready");
  assert.equal(uploaded?.size, 3 * 1024 * 1024 + 17);

  const out = join(files, "copy.bin");
  const download = await runCli(["download", uploaded!.id, "-o", out], client);
  assert.equal(download.code, 0, download.stderr);
  assert.equal(await sha256File(out), file.sha256);

  // Without URL or token, the CLI finds the local serve through its data directory.
  const ls = await runCli(["ls", "--json"], {
    cwd: work,
    env: { HOME: clientHome, SLUICE_DATA_DIR: "data" },
  });
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual(
    (JSON.parse(ls.stdout) as Array<{ id: string }>).map((f) => f.id),
    [uploaded!.id],
  );

  const stopped = await serve.stop();
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stderr, /Stopped\./);
  assert.deepEqual(
    await readdir(work),
    ["data"],
    "serve wrote only its data directory in the working directory",
  );
  assert.deepEqual(await readdir(serveHome), [], "serve wrote nothing in HOME");
  assert.ok(
    !(await readdir(join(work, "data"))).includes("session.json"),
    "the session file goes away on stop",
  );
});

test("CLI errors name the cause and exit with the documented codes", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "sluice-cli-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const env = { HOME: root };
  const noBroker = await runCli(["ls"], { cwd: root, env });
  assert.equal(noBroker.code, 3);
  assert.match(noBroker.stderr, /sluice login/);
  const unknown = await runCli(["frobnicate"], { cwd: root, env });
  assert.equal(unknown.code, 2);
  const badDuration = await runCli(["share", "x", "--expires", "soon"], {
    cwd: root,
    env: { ...env, SLUICE_URL: "http://127.0.0.1:9", SLUICE_TOKEN: "t" },
  });
  assert.equal(badDuration.code, 2);
  assert.match(badDuration.stderr, /7d/);
  const unreachable = await runCli(["ls"], {
    cwd: root,
    env: { ...env, SLUICE_URL: "http://127.0.0.1:9", SLUICE_TOKEN: "t" },
  });
  assert.equal(unreachable.code, 6, unreachable.stderr);
  assert.match(
    unreachable.stderr,
    /Cannot reach the broker at http:\/\/127\.0\.0\.1:9 \(bad port\).*sluice serve.*--url/,
  );
  // A bad configuration is a usage error (2), not "unreachable, retry later" (6), and names the field.
  await writeFile(join(root, "bad.yaml"), "profiles:\n  doc: { maxSize: lots }\n");
  const badConfig = await runCli(["serve", "--config", "bad.yaml", "--port", "0", "--store-port", "0"], {
    cwd: root,
    env,
  });
  assert.equal(badConfig.code, 2, badConfig.stderr);
  assert.match(badConfig.stderr, /profiles\.doc\.maxSize: expected a size/);
  await writeFile(join(root, "partial.yaml"), "storage:\n  endpoint: http://127.0.0.1:9\n");
  const partial = await runCli(["serve", "--config", "partial.yaml", "--port", "0"], { cwd: root, env });
  assert.equal(partial.code, 2, partial.stderr);
  assert.match(partial.stderr, /storage\.accessKeyId \(SLUICE_STORAGE_ACCESS_KEY_ID\)/);
  assert.match(partial.stderr, /storage\.secretAccessKey \(SLUICE_STORAGE_SECRET_ACCESS_KEY\)/);
  assert.doesNotMatch(partial.stderr, /set storage\.endpoint/, "the endpoint is set: only what is missing");
  const help = await runCli(["--help"], { cwd: root, env });
  assert.equal(help.code, 0);
  for (const command of ["serve", "upload", "download", "ls", "rm", "share", "revoke", "login", "token"]) {
    assert.match(help.stdout, new RegExp(`\\n  ${command}\\b`), command);
  }
  assert.match(help.stdout, /Exit codes:/);
});
