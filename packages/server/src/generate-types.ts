// Generates api.gen.ts, the SDK's types, from the broker's own OpenAPI
// document (openapi-typescript), so the SDK and the API cannot drift:
// generate-types.test.ts fails when the checked-in file is not what this makes.
// Run: npm run generate -w @sluice/server
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createBroker, loadConfig } from "@sluice/broker";
import openapiTS, { astToString, type OpenAPI3 } from "openapi-typescript";

export const GENERATED_FILE = fileURLToPath(new URL("./api.gen.ts", import.meta.url));

/** The broker's /openapi.json, from a broker that touches no storage. */
export async function brokerOpenApiDocument(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-openapi-"));
  const config = loadConfig({
    overrides: {
      dataDir: dir,
      storage: { endpoint: "http://127.0.0.1:9", accessKeyId: "unused", secretAccessKey: "unused" },
      log: { level: "silent" },
    },
  });
  const broker = await createBroker(config, {
    ensureBucket: false,
    worker: false,
    sweeper: false,
    webhooks: false,
  });
  try {
    return (await (await broker.fetch(new Request("http://broker/openapi.json"))).json()) as Record<
      string,
      unknown
    >;
  } finally {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function generatedTypes(): Promise<string> {
  const document = await brokerOpenApiDocument();
  const ast = await openapiTS(document as unknown as OpenAPI3);
  return `// Generated from the broker's OpenAPI document by generate-types.ts: do not edit.\n${astToString(ast)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(GENERATED_FILE, await generatedTypes());
}
