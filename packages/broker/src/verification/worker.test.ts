import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { grant, type Harness, putBytes, startHarness } from "../test/harness.ts";

async function state(h: Harness, id: string): Promise<string> {
  return ((await (await h.api(`/v1/uploads/${id}`)).json()) as { state: string }).state;
}

describe("verification jobs are durable", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ broker: { worker: false } });
  });
  after(() => h?.close());

  it("a job queued before a restart is processed after it", async () => {
    const g = await grant(h, { name: "notes.txt", size: 6, type: "text/plain" });
    assert.equal((await putBytes(g.put, Buffer.from("notes\n"))).status, 200);
    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(
      ((await done.json()) as { state: string }).state,
      "uploaded",
      "no worker yet: waiting for verification",
    );
    assert.equal((await h.api(`/v1/files/${g.upload.id}/download`)).status, 409, "only ready files download");

    await h.restart({ worker: true });
    const deadline = Date.now() + 10_000;
    while ((await state(h, g.upload.id)) === "uploaded" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(await state(h, g.upload.id), "ready");
  });
});
