#!/usr/bin/env node
// `npm run build:lambda [-- --out DIR]`: the AWS Lambda package of
// deploy/aws/template.yaml, DIR/sluice-lambda.zip (default deploy/aws/dist).
// One esbuild bundle (index.mjs) of deploy/aws/handler.ts with every npm
// dependency inlined (the AWS SDK too, so the version is the one we test, not
// the runtime's), nothing from devDependencies, and without:
// - better-sqlite3: a native addon, and SQLite cannot work on Lambda (the
//   handler refuses it; PostgreSQL only);
// - sharp: native, ~30 MB; image derivatives need it as a Lambda layer (see
//   docs/deploy/aws.md), without it image profiles' derivatives fail;
// - pg-native: pg's optional native driver, never used.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const at = process.argv.indexOf("--out");
const out = resolve(at > 0 ? process.argv[at + 1] : join(root, "deploy/aws/dist"));
const staging = join(out, "lambda");
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });

const result = await build({
  entryPoints: { index: join(root, "deploy/aws/handler.ts") },
  outdir: staging,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  conditions: ["sluice-source"],
  external: ["better-sqlite3", "sharp", "pg-native"],
  minify: true,
  keepNames: true,
  sourcemap: false,
  legalComments: "none",
  metafile: true,
  // CommonJS dependencies bundled into ESM still call require() for Node's own modules.
  banner: {
    js: 'import { createRequire as __sluiceRequire } from "node:module"; const require = __sluiceRequire(import.meta.url);',
  },
  logLevel: "warning",
});
const zip = join(out, "sluice-lambda.zip");
rmSync(zip, { force: true });
execFileSync("zip", ["-q", "-X", "-9", zip, "index.mjs"], { cwd: staging });
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const bundled = Object.keys(result.metafile.inputs).length;
console.log(
  `${zip}: ${mib(statSync(zip).size)} (index.mjs ${mib(statSync(join(staging, "index.mjs")).size)} unzipped, ${bundled} modules)`,
);
