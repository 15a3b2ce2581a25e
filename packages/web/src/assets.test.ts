import assert from "node:assert/strict";
import { test } from "node:test";
import { build } from "esbuild";
import { loadAssets } from "./assets.ts";
import { bundleOptions } from "./assets-bundle.ts";

const NODE_IMPORT = /\bfrom\s*["']node:|\bimport\(\s*["']node:|require\(\s*["'](node:)?[a-z_]+["']\)/;

test("the served SDK bundle is one ESM module without Node-only imports", async () => {
  const result = await build({ ...bundleOptions("sluice-client.js"), write: false, metafile: true });
  const inputs = Object.keys(result.metafile!.inputs);
  assert.deepEqual(
    inputs.filter((path) => path.startsWith("node:") || /\/client\/src\/node(\/|\.ts)/.test(path)),
    [],
  );
  const code = (await loadAssets()).get("sluice-client.js")!.body;
  assert.doesNotMatch(code, NODE_IMPORT);
  assert.match(code, /\bexport\s*\{[^}]*\bcreateClient\b/, "exports createClient");
  assert.match(code, /\bUploadQueue\b/);
});

test("the page script and the React hook load the SDK from its bundle instead of copying it", async () => {
  const assets = await loadAssets();
  for (const name of ["app.js", "sluice-react.js"]) {
    const code = assets.get(name)!.body;
    assert.match(code, /from\s*["']\.\/sluice-client\.js["']/, `${name} imports ./sluice-client.js`);
    assert.doesNotMatch(code, /XMLHttpRequest|localStorage\.setItem/, `${name} holds no SDK code`);
    assert.doesNotMatch(code, NODE_IMPORT);
  }
  assert.match(assets.get("sluice-react.js")!.body, /from\s*["']react["']/, "react stays a peer import");
});
