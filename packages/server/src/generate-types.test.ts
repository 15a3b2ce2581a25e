import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { GENERATED_FILE, generatedTypes } from "./generate-types.ts";

it("api.gen.ts is what the broker's OpenAPI document generates (run `npm run generate -w @sluice/server`)", async () => {
  assert.equal(readFileSync(GENERATED_FILE, "utf8"), await generatedTypes());
});
