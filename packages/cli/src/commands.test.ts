// The CLI's other commands against a running `sluice serve`, as separate processes.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { randomFile } from "@sluice/client/testing";
import {
  type CliOptions,
  finished,
  jsonLines,
  runCli,
  type Serve,
  spawnCli,
  startServe,
} from "./test/cli.ts";

describe("sluice commands against a local serve", () => {
  let root: string;
  let serve: Serve;
  let dev: CliOptions;
  let fileId: string;
  let original: Buffer;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "sluice-commands-"));
    serve = await startServe(["--data", "data", "--port", "0", "--store-port", "0"], {
      cwd: root,
      env: { HOME: root },
    });
    dev = { cwd: root, env: { HOME: root, SLUICE_URL: serve.url, SLUICE_TOKEN: serve.token } };
    const file = await randomFile(root, "notes.bin", 1000);
    original = await readFile(file.path);
    const upload = await runCli(["upload", file.path, "--json"], dev);
    assert.equal(upload.code, 0, upload.stderr);
    fileId = jsonLines<{ id: string }>(upload.stdout)[0]!.id;
  });
  after(async () => {
    await serve.stop();
    await rm(root, { recursive: true, force: true });
  });

  test("share makes a link limited in uses; revoke kills a link at once", async () => {
    const shared = await runCli(["share", fileId, "--expires", "1h", "--max-downloads", "1", "--json"], dev);
    assert.equal(shared.code, 0, shared.stderr);
    const link = JSON.parse(shared.stdout) as { id: string; url: string };
    assert.equal((await fetch(link.url, { redirect: "manual" })).status, 302);
    assert.notEqual((await fetch(link.url, { redirect: "manual" })).status, 302, "one use only");

    const second = JSON.parse((await runCli(["share", fileId, "--json"], dev)).stdout) as {
      id: string;
      url: string;
    };
    const revoked = await runCli(["revoke", second.id], dev);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.notEqual((await fetch(second.url, { redirect: "manual" })).status, 302);
    assert.equal((await runCli(["revoke", "no-such-link"], dev)).code, 4);

    // A lost link id is found again from its file.
    const listed = await runCli(["links", fileId, "--json"], dev);
    assert.equal(listed.code, 0, listed.stderr);
    const links = JSON.parse(listed.stdout) as Array<{ id: string; revokedAt: string | null; uses: number }>;
    assert.deepEqual(
      links.map((l) => [l.id, l.revokedAt !== null, l.uses]),
      [
        [second.id, true, 0],
        [link.id, false, 1],
      ],
    );
    const text = await runCli(["links", fileId], dev);
    assert.match(text.stdout, new RegExp(`${second.id}\\s+revoked`));
    assert.match(text.stdout, new RegExp(`${link.id}\\s+used up`));
    assert.equal((await runCli(["links", "no-such-file"], dev)).code, 4);
    const tooLong = await runCli(["share", fileId, "--expires", "90d"], dev);
    assert.equal(tooLong.code, 5);
    assert.match(
      tooLong.stderr,
      /--expires is limited to 30d \(2592000 seconds\)/,
      "the option and unit the user typed",
    );
  });

  test("apikey create makes a key for another user, who sees none of dev's files", async () => {
    const created = await runCli(
      ["apikey", "create", "--data", "data", "--tenant", "local", "--user", "bob", "--json"],
      { cwd: root, env: { HOME: root } },
    );
    assert.equal(created.code, 0, created.stderr);
    const { id, key } = JSON.parse(created.stdout) as { id: string; key: string };
    const bob = { cwd: root, env: { HOME: root, SLUICE_URL: serve.url, SLUICE_TOKEN: key } };
    const ls = await runCli(["ls", "--json"], bob);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(JSON.parse(ls.stdout), []);
    const stolen = await runCli(["download", fileId, "-o", join(root, "stolen")], bob);
    assert.equal(stolen.code, 4, "another user's id is not found");

    const admin = { cwd: root, env: { HOME: root } };
    const list = await runCli(["apikey", "list", "--data", "data", "--user", "bob", "--json"], admin);
    assert.equal(list.code, 0, list.stderr);
    const keys = JSON.parse(list.stdout) as Array<{ id: string; user: string; revokedAt: string | null }>;
    assert.deepEqual(
      keys.map((k) => [k.id, k.user, k.revokedAt]),
      [[id, "bob", null]],
    );
    assert.ok(!list.stdout.includes(key), "never the key itself");
    const revoke = await runCli(["apikey", "revoke", "--data", "data", id], admin);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.equal((await runCli(["ls", "--json"], bob)).code, 3, "refused by the running broker at once");
    assert.equal((await runCli(["apikey", "revoke", "--data", "data", id], admin)).code, 4);
    const missingFlag = await runCli(["apikey", "create", "--data", "data"], {
      cwd: root,
      env: { HOME: root },
    });
    assert.equal(missingFlag.code, 2);
  });

  test("login saves URL and token privately; token shows them masked; logout forgets them", async () => {
    const home = { cwd: root, env: { HOME: join(root, "login-home") } };
    const bad = await runCli(["login", "--url", serve.url, "--token", "sk_wrong"], home);
    assert.equal(bad.code, 3, "a wrong token is refused before anything is saved");
    const login = await runCli(["login", "--url", serve.url, "--token", serve.token], home);
    assert.equal(login.code, 0, login.stderr);
    const saved = join(root, "login-home", ".sluice", "config.json");
    assert.equal(JSON.parse(await readFile(saved, "utf8")).url, serve.url);
    assert.equal((await stat(saved)).mode & 0o777, 0o600);
    const shown = await runCli(["token"], home);
    assert.equal(shown.code, 0, shown.stderr);
    assert.ok(!shown.stdout.includes(serve.token), "the token is never printed");
    assert.match(shown.stdout, /config\.json/);
    assert.equal((await runCli(["ls"], home)).code, 0);
    assert.equal((await runCli(["logout"], home)).code, 0);
    assert.equal((await runCli(["ls"], home)).code, 3);
  });

  test("setup applies CORS to the bucket on an S3 endpoint; policy prints IAM JSON", async () => {
    const credentials = JSON.parse(await readFile(join(root, "data", "store-credentials.json"), "utf8"));
    const setup = await runCli(
      [
        "setup",
        "--endpoint",
        serve.storeEndpoint,
        "--bucket",
        "sluice",
        "--cors-origin",
        "https://app.example",
      ],
      {
        cwd: root,
        env: {
          HOME: root,
          SLUICE_STORAGE_ACCESS_KEY_ID: credentials.accessKeyId,
          SLUICE_STORAGE_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        },
      },
    );
    assert.equal(setup.code, 0, setup.stderr);
    assert.ok(!setup.stdout.includes(credentials.secretAccessKey));
    const preflight = await fetch(`${serve.storeEndpoint}/sluice/some/key`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "PUT" },
    });
    assert.equal(preflight.headers.get("access-control-allow-origin"), "https://app.example");
    const pagePreflight = () =>
      fetch(`${serve.storeEndpoint}/sluice/some/key`, {
        method: "OPTIONS",
        headers: { origin: serve.url, "access-control-request-method": "PUT" },
      });
    assert.equal(
      (await pagePreflight()).headers.get("access-control-allow-origin"),
      serve.url,
      "the running page's own origin is kept: origins are added, not replaced",
    );
    const replaced = await runCli(
      ["setup", "--endpoint", serve.storeEndpoint, "--cors-origin", "https://app.example", "--replace"],
      {
        cwd: root,
        env: {
          HOME: root,
          SLUICE_STORAGE_ACCESS_KEY_ID: credentials.accessKeyId,
          SLUICE_STORAGE_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        },
      },
    );
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.match(replaced.stdout, new RegExp(`Removed: +[^\\n]*${serve.url.replace(/[.]/g, "\\.")}`));
    assert.equal((await pagePreflight()).headers.get("access-control-allow-origin"), null);

    const policy = await runCli(["policy", "--bucket", "uploads"], { cwd: root, env: { HOME: root } });
    assert.equal(policy.code, 0, policy.stderr);
    assert.equal(JSON.parse(policy.stdout).Statement[1].Resource[0], "arn:aws:s3:::uploads");
  });

  test("download -o DIR/ writes DIR/<name>, -o - writes stdout; presign prints a working URL", async () => {
    await mkdir(join(root, "out"));
    for (const out of ["out/", "out"]) {
      const download = await runCli(["download", fileId, "-o", out], dev);
      assert.equal(download.code, 0, download.stderr);
      assert.deepEqual(await readFile(join(root, "out", "notes.bin")), original);
      assert.deepEqual(await readdir(join(root, "out")), ["notes.bin"], "no .part files left behind");
      await rm(join(root, "out", "notes.bin"));
    }
    const missingDir = await runCli(["download", fileId, "-o", "nowhere/"], dev);
    assert.equal(missingDir.code, 2);
    assert.match(missingDir.stderr, /nowhere\/: no such directory/);

    const piped = spawnCli(["download", fileId, "-o", "-"], dev);
    const chunks: Buffer[] = [];
    piped.stdout?.on("data", (chunk: Buffer) => chunks.push(chunk));
    assert.equal((await finished(piped)).code, 0);
    assert.deepEqual(Buffer.concat(chunks), original);

    const presigned = await runCli(["presign", fileId], dev);
    assert.equal(presigned.code, 0, presigned.stderr);
    const res = await fetch(presigned.stdout.trim());
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), original);
  });

  test("upload - reads stdin (with --name); --json prints one line per file, the summary in argument order", async () => {
    const noName = await runCli(["upload", "-"], { ...dev, input: "x" });
    assert.equal(noName.code, 2);
    assert.match(noName.stderr, /--name/);
    const piped = await runCli(["upload", "-", "--name", "from-stdin.txt", "--json"], {
      ...dev,
      input: "hello from a pipe\n",
    });
    assert.equal(piped.code, 0, piped.stderr);
    const [line] = jsonLines<{ file: string; name: string; size: number; type: string; state: string }>(
      piped.stdout,
    );
    assert.deepEqual(
      { file: line?.file, name: line?.name, size: line?.size, type: line?.type, state: line?.state },
      { file: "-", name: "from-stdin.txt", size: 18, type: "text/plain", state: "ready" },
    );

    const a = await randomFile(root, "a.bin", 300_000);
    const b = await randomFile(root, "b.bin", 10);
    const json = await runCli(["upload", a.path, b.path, "--json"], dev);
    assert.equal(json.code, 0, json.stderr);
    const lines = jsonLines<{ file: string; id: string }>(json.stdout);
    assert.equal(lines.length, 2, "one JSON document per line, one line per file");
    assert.deepEqual(new Set(lines.map((l) => l.file)), new Set([a.path, b.path]));
    const human = await runCli(["upload", b.path, a.path, "--parallel", "2"], dev);
    assert.equal(human.code, 0, human.stderr);
    assert.deepEqual(
      human.stdout
        .trim()
        .split("\n")
        .map((row) => row.split(/\s+/)[1]),
      ["b.bin", "a.bin"],
      "the summary follows the arguments, whatever finished first",
    );
  });

  test("rm tries every id, names each failure, and exits non-zero if any failed", async () => {
    const second = await randomFile(root, "second.bin", 10);
    const upload = await runCli(["upload", second.path, "--json"], dev);
    const secondId = jsonLines<{ id: string }>(upload.stdout)[0]!.id;
    const removed = await runCli(["rm", fileId, "no-such-file", secondId], dev);
    assert.equal(removed.code, 4, removed.stderr);
    assert.match(removed.stdout, new RegExp(`deleted ${fileId}\n`));
    assert.match(
      removed.stdout,
      new RegExp(`deleted ${secondId}\n`),
      "the ids after a failure are tried too",
    );
    assert.match(removed.stderr, /^no-such-file: /m);
    const ids = (JSON.parse((await runCli(["ls", "--json"], dev)).stdout) as Array<{ id: string }>).map(
      (f) => f.id,
    );
    assert.ok(!ids.includes(fileId) && !ids.includes(secondId));
    assert.equal((await runCli(["rm", fileId], dev)).code, 4);
  });
});
