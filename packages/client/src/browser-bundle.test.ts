import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

test("the browser bundle of the default entry contains no Node-only import", async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL("./index.ts", import.meta.url))],
    bundle: true,
    platform: "browser",
    format: "esm",
    conditions: ["sluice-source"],
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(
    inputs.some((path) => path.endsWith("upload/multipart.ts")),
    "bundle has the uploader",
  );
  assert.deepEqual(
    inputs.filter((path) => /(^|\/)node\/|^node:/.test(path)),
    [],
    "no module from src/node or node: builtins",
  );
  const code = result.outputFiles[0]!.text;
  assert.doesNotMatch(
    code,
    /from\s*["']node:|require\(["'](node:)?(fs|http|https|crypto|stream|os|path)["']\)/,
  );
});

test("the package resolves to the Node entry under the node condition", async () => {
  const client = await import("@sluice/client");
  assert.equal(typeof (client as Record<string, unknown>).downloadToFile, "function");
});
