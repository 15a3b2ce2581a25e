import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Harness, startHarness } from "../test/harness.ts";

interface Operation {
  operationId?: string;
  security?: unknown[];
}
interface Document {
  servers: Array<{ url: string }>;
  security: unknown[];
  paths: Record<string, Record<string, Operation>>;
}

describe("/openapi.json", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h?.close());
  const document = async (headers: Record<string, string> = {}) =>
    (await (await fetch(`${h.url}/openapi.json`, { headers })).json()) as Document;

  it("names every operation with a unique operationId", async () => {
    const ids = Object.values((await document()).paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    );
    assert.ok(ids.length >= 15, `${ids.length} operations`);
    assert.deepEqual(
      ids.filter((id) => !id),
      [],
    );
    assert.equal(new Set(ids).size, ids.length, `duplicate operationIds: ${ids.join(", ")}`);
    assert.ok(ids.includes("createUpload") && ids.includes("followLink"));
  });

  it("lists the broker's URL as its server", async () => {
    assert.deepEqual((await document()).servers, [{ url: h.url }]);
  });

  it("asks for no bearer token on /l/{token}, and for one everywhere else by default", async () => {
    const doc = await document();
    assert.deepEqual(doc.security, [{ bearer: [] }]);
    assert.deepEqual(doc.paths["/l/{token}"]!.get!.security, []);
    assert.equal(doc.paths["/v1/uploads"]!.post!.security, undefined, "inherits bearer");
  });
});
