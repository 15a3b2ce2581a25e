// `npm run test:pack`: the packages as a user gets them. Every workspace
// package is packed with `npm pack` (after `npm run build`), the tarballs are
// installed with `npm install` into a fresh directory outside the repository,
// and from there: plain-node ESM and CommonJS scripts upload with the SDK,
// `npx sluice serve` / `npx sluice upload` work, a browser page loads the SDK's
// bundle from the installed files, `tsc --noEmit` checks a consumer against the
// published types, and the README's code blocks run verbatim.
//
// Install scripts are skipped and better-sqlite3's native addon is copied from
// this repository's own install (same version, same Node): compiling it again
// costs two minutes and tests nothing of ours. SLUICE_PACK_FULL_INSTALL=1 runs
// the install scripts instead.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromiumTier, launchChromium } from "@sluice/core/testing";
import ts from "typescript";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));

/** The environment of a user's shell: none of npm's script variables, no source condition, no tsx. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== "NODE_OPTIONS") env[key] = value;
  }
  return { ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...extra };
}

function installedVersion(name: string): string {
  return JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version;
}

/** The fenced code blocks of a Markdown file, by language. */
function codeBlocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)]
    .filter((m) => m[1] === language)
    .map((m) => m[2]!);
}

interface Packed {
  name: string;
  filename: string;
  size: number;
  unpackedSize: number;
}

describe("packed packages installed outside the repository", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-pack-"));
  const app = join(dir, "app");
  const readme = readFileSync(join(root, "README.md"), "utf8");
  let packed: Packed[];
  let serve: ChildProcess;
  let brokerUrl: string;
  let token: string;
  let page: Server;
  let pageOrigin: string;

  const inApp = (command: string, args: string[], extra: Record<string, string> = {}) =>
    run(command, args, { cwd: app, env: userEnv(extra), maxBuffer: 16 << 20 });

  before(async () => {
    const tarballs = join(dir, "tarballs");
    mkdirSync(tarballs);
    const { stdout } = await run("npm", ["pack", "--workspaces", "--json", "--pack-destination", tarballs], {
      cwd: root,
      env: userEnv(),
      maxBuffer: 16 << 20,
    });
    packed = JSON.parse(stdout);
    mkdirSync(join(app, "src"), { recursive: true });
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({
        name: "consumer",
        private: true,
        type: "module",
        dependencies: Object.fromEntries(packed.map((p) => [p.name, `file:${join(tarballs, p.filename)}`])),
        devDependencies: {
          typescript: installedVersion("typescript"),
          "@types/node": installedVersion("@types/node"),
          // The README's "Integrate with your app" keeps the app's own records in better-sqlite3.
          "@types/better-sqlite3": installedVersion("@types/better-sqlite3"),
        },
      }),
    );
    const full = process.env.SLUICE_PACK_FULL_INSTALL === "1";
    await inApp("npm", [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      ...(full ? [] : ["--ignore-scripts"]),
    ]);
    if (!full) {
      cpSync(
        join(root, "node_modules/better-sqlite3/build/Release/better_sqlite3.node"),
        join(app, "node_modules/better-sqlite3/build/Release/better_sqlite3.node"),
      );
    }

    // The browser test's page is served from another origin, which the broker's CORS allowlist names.
    page = createServer((req, res) => {
      if (req.url === "/sluice-client.js") {
        res.writeHead(200, { "content-type": "text/javascript" });
        res.end(readFileSync(join(app, "node_modules/@sluice/client/dist/bundle/sluice-client.js")));
      } else {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<!doctype html><title>consumer</title>");
      }
    });
    await new Promise<void>((resolve) => page.listen(0, "127.0.0.1", resolve));
    pageOrigin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;

    serve = spawn("npx", ["sluice", "serve", "--port", "0", "--store-port", "0"], {
      cwd: app,
      env: userEnv({ SLUICE_CORS_ORIGINS: pageOrigin }),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    serve.stderr!.on("data", (chunk) => {
      output += chunk;
    });
    await new Promise<void>((resolve, reject) => {
      serve.stdout!.on("data", (chunk) => {
        output += chunk;
        const url = /Page and API:\s+(\S+)/.exec(output)?.[1];
        const dev = /Dev token:\s+(\S+)/.exec(output)?.[1];
        if (url && dev) {
          brokerUrl = url;
          token = dev;
          resolve();
        }
      });
      serve.once("exit", (code) => reject(new Error(`sluice serve exited (${code}):\n${output}`)));
    });
  });

  after(async () => {
    if (serve?.pid) {
      const exited = new Promise((resolve) => serve.once("exit", resolve));
      process.kill(-serve.pid, "SIGTERM");
      await exited;
    }
    await new Promise((resolve) => page?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports what each package installs", async () => {
    const { stdout } = await run("du", ["-sk", join(app, "node_modules")]);
    for (const p of packed) console.log(`# ${p.name}: ${p.size} B packed, ${p.unpackedSize} B unpacked`);
    console.log(`# node_modules of a project installing all of them: ${stdout.split("\t")[0]} KiB`);
    assert.deepEqual(packed.map((p) => p.name).sort(), [
      "@sluice/broker",
      "@sluice/cli",
      "@sluice/client",
      "@sluice/core",
      "@sluice/server",
      "@sluice/sigv4",
      "@sluice/store",
      "@sluice/web",
    ]);
  });

  it("a plain node ESM script uploads a file with the SDK", async () => {
    writeFileSync(join(app, "esm-file.txt"), "uploaded from an ES module\n");
    writeFileSync(
      join(app, "upload.mjs"),
      `import { createClient } from "@sluice/client";
const client = createClient({ endpoint: process.env.SLUICE_URL, token: process.env.SLUICE_TOKEN });
const { id } = await client.upload("./esm-file.txt", { profile: "default" });
const settled = await client.waitUntilSettled(id);
const { url } = await client.download(id);
console.log(JSON.stringify({ state: settled.state, body: await (await fetch(url)).text() }));
client.close();
`,
    );
    const { stdout } = await inApp("node", ["upload.mjs"], { SLUICE_URL: brokerUrl, SLUICE_TOKEN: token });
    assert.deepEqual(JSON.parse(stdout), { state: "ready", body: "uploaded from an ES module\n" });
  });

  it("a CommonJS script require()s the SDK and uploads a file", async () => {
    writeFileSync(join(app, "cjs-file.txt"), "uploaded from CommonJS\n");
    writeFileSync(
      join(app, "upload.cjs"),
      `const { createClient, SluiceError } = require("@sluice/client");
const { SluiceError: CoreError } = require("@sluice/core");
(async () => {
  const client = createClient({ endpoint: process.env.SLUICE_URL, token: process.env.SLUICE_TOKEN });
  const { id } = await client.upload("./cjs-file.txt", { profile: "default" });
  const settled = await client.waitUntilSettled(id);
  console.log(JSON.stringify({ state: settled.state, sameError: SluiceError === CoreError }));
  client.close();
})();
`,
    );
    const { stdout } = await inApp("node", ["upload.cjs"], { SLUICE_URL: brokerUrl, SLUICE_TOKEN: token });
    assert.deepEqual(JSON.parse(stdout), { state: "ready", sameError: true });
  });

  it("npx sluice upload sends a file to the broker that npx sluice serve started", async () => {
    writeFileSync(join(app, "cli-file.txt"), "uploaded by the CLI\n");
    const { stdout } = await inApp("npx", ["sluice", "--json", "upload", "cli-file.txt"]);
    assert.match(stdout, /"id"\s*:/);
    const { stdout: list } = await inApp("npx", ["sluice", "--json", "ls"]);
    assert.match(list, /cli-file\.txt/);
  });

  it("tsc --noEmit type-checks a consumer against the published types, with the README's examples", async () => {
    writeFileSync(
      join(app, "src/consumer.ts"),
      `import { createClient, SluiceError, type SluiceClient, type UploadRecord } from "@sluice/client";
import { parseConfig, type BrokerConfig } from "@sluice/broker";
import { useUpload } from "@sluice/client/react";

const client: SluiceClient = createClient({ endpoint: "http://127.0.0.1:8080", getToken: async () => "t" });
export async function upload(path: string): Promise<UploadRecord> {
  const { id } = await client.upload(path, { profile: "default", onProgress: (p) => void p.bytesSent });
  return client.waitUntilSettled(id);
}
export const config: BrokerConfig = parseConfig({ storage: { bucket: "my-uploads" } });
export const isError = (e: unknown): e is SluiceError => e instanceof SluiceError;
export const hook: typeof useUpload = useUpload;
// @ts-expect-error profile must be a string
client.upload("x", { profile: 1 });
`,
    );
    codeBlocks(readme, "ts").forEach((code, i) => {
      writeFileSync(join(app, `src/readme-${i + 1}.ts`), code);
    });
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2023", "DOM"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          skipLibCheck: true,
          types: ["node"],
        },
        include: ["src"],
      }),
    );
    await inApp("npx", ["tsc", "--noEmit", "-p", "tsconfig.json"]).catch((error) => {
      assert.fail(`tsc failed:\n${error.stdout}`);
    });
  });

  it("the README's SDK example runs verbatim", async () => {
    // The SDK's examples; "Integrate with your app" is a server, run verbatim by packages/server's readme test.
    const blocks = codeBlocks(readme, "ts").filter((code) => code.includes("createClient"));
    assert.ok(blocks.length > 0, "README has an SDK example");
    writeFileSync(join(app, "big.iso"), Buffer.alloc(3 << 20, 7));
    for (const [i, code] of blocks.entries()) {
      // Types were checked by the test above; here the block is only stripped of them and run.
      const js = ts.transpileModule(code, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      writeFileSync(join(app, `readme-${i + 1}.mjs`), js);
      const { stdout } = await inApp("node", [`readme-${i + 1}.mjs`], {
        SLUICE_URL: brokerUrl,
        SLUICE_TOKEN: token,
      });
      assert.match(stdout, /\d+ \/ \d+/, `readme-${i + 1} printed progress`);
    }
  });

  it("the configuration examples of the README and docs/configuration.md are valid", async () => {
    const blocks = [readme, readFileSync(join(root, "docs/configuration.md"), "utf8")].flatMap((text) =>
      codeBlocks(text, "yaml"),
    );
    assert.ok(blocks.length >= 3, "README and docs have yaml blocks");
    for (const [i, block] of blocks.entries()) {
      writeFileSync(join(app, `readme-${i + 1}.yaml`), block);
      await inApp("node", [
        "--input-type=module",
        "-e",
        `import { loadConfig } from "@sluice/broker"; loadConfig({ file: "readme-${i + 1}.yaml" });`,
      ]);
    }
  });

  it("a browser page loads the SDK's bundle from the installed package and uploads", async (t) => {
    const chromium = chromiumTier();
    if (!chromium.available) return t.skip(chromium.reason);
    const browser = await launchChromium(chromium.value);
    try {
      const tab = await browser.newPage();
      await tab.goto(pageOrigin);
      const result = await tab.evaluate(
        async ({ endpoint, token }) => {
          const sdk = "/sluice-client.js";
          const { createClient } = await import(sdk);
          const client = createClient({ endpoint, token });
          const blob = new Blob([new Uint8Array(300_000).fill(9)], { type: "application/octet-stream" });
          const { id } = await client.upload(blob, { profile: "default", name: "from-the-browser.bin" });
          const settled = await client.waitUntilSettled(id);
          return { state: settled.state, size: settled.size };
        },
        { endpoint: brokerUrl, token },
      );
      assert.deepEqual(result, { state: "ready", size: 300_000 });
    } finally {
      await browser.close();
    }
  });
});
