// `sluice upload` without --profile against a broker whose profiles are configured.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type CliOptions, jsonLines, runCli, type Serve, startServe } from "./test/cli.ts";

describe("upload picks the profile that accepts the file", () => {
  let root: string;
  let serve: Serve;
  let dev: CliOptions;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "sluice-profiles-"));
    await writeFile(
      join(root, "sluice.yaml"),
      [
        "profiles:",
        '  document: { maxSize: 1MiB, types: [application/pdf, "text/*"] }',
        '  avatar: { maxSize: 100KiB, types: ["image/*"] }',
        "",
      ].join("\n"),
    );
    serve = await startServe(
      ["--data", "data", "--config", "sluice.yaml", "--port", "0", "--store-port", "0"],
      {
        cwd: root,
        env: { HOME: root },
      },
    );
    dev = { cwd: root, env: { HOME: root, SLUICE_URL: serve.url, SLUICE_TOKEN: serve.token } };
  });
  after(async () => {
    await serve?.stop();
    await rm(root, { recursive: true, force: true });
  });

  test("the one profile whose types take the file is used; none fitting lists the profiles", async () => {
    await writeFile(join(root, "f.pdf"), "%PDF-1.4\n%%EOF\n");
    const pdf = await runCli(["upload", "f.pdf", "--json", "--no-wait"], dev);
    assert.equal(pdf.code, 0, pdf.stderr);
    const [uploaded] = jsonLines<{ id: string }>(pdf.stdout);
    const files = JSON.parse((await runCli(["ls", "--json"], dev)).stdout) as Array<{
      id: string;
      profile: string;
    }>;
    assert.equal(files.find((f) => f.id === uploaded?.id)?.profile, "document");

    await writeFile(join(root, "f.bin"), "binary");
    const none = await runCli(["upload", "f.bin"], dev);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /f\.bin \(application\/octet-stream, 6 B\): no profile accepts it/);
    assert.match(none.stderr, /document: application\/pdf, text\/\*, up to 1\.0 MiB/);
    assert.match(none.stderr, /avatar: image\/\*, up to 100\.0 KiB/);

    await writeFile(join(root, "big.pdf"), Buffer.alloc(1024 * 1024 + 1));
    const big = await runCli(["upload", "big.pdf", "--profile", "document"], dev);
    assert.equal(big.code, 5);
    assert.match(big.stderr, /larger than this profile allows \(1 MiB\)/, "in the unit of the configuration");

    const chosen = await runCli(["upload", "f.bin", "--profile", "avatar"], dev);
    assert.equal(chosen.code, 5, "an explicit --profile is sent as is; the broker refuses the type");
  });
});
