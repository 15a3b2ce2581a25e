import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { grant, type Harness, incomingKey, startHarness } from "../test/harness.ts";

const PNG = Buffer.from("89504e470d0a1a0a0000000d494844520000000100000001080600000000", "hex");

function form(fields: Record<string, string>, file: Uint8Array, type: string): FormData {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  body.append("file", new Blob([file as Uint8Array<ArrayBuffer>], { type }), "upload");
  return body;
}

describe("POST (browser form) uploads", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      config: {
        profiles: { avatar: { maxSize: "5MB", types: ["image/png", "image/jpeg"], method: "post" } },
      },
    });
  });
  after(() => h?.close());

  it("returns a policy pinning key, exact size, type and upload id", async () => {
    const g = await grant(h, { name: "me.png", size: PNG.length, type: "image/png" });
    assert.equal(g.upload.method, "post");
    assert.equal(g.post.fields.key, incomingKey(g.upload.key));
    assert.equal(g.post.fields["Content-Type"], "image/png");
    assert.equal(g.post.fields["x-amz-meta-upload-id"], g.upload.id);
    assert.equal(g.post.fields.success_action_status, "201");
    const policy = JSON.parse(Buffer.from(g.post.fields.Policy!, "base64").toString()) as {
      conditions: unknown[];
    };
    assert.deepEqual(
      policy.conditions.find((c) => Array.isArray(c) && c[0] === "content-length-range"),
      ["content-length-range", PNG.length, PNG.length],
    );
    assert.ok(g.post.url.endsWith("/sluice"));
  });

  it("uploads through the form to ready; storage refuses a bigger file or another key", async (t) => {
    const g = await grant(h, { name: "me.png", size: PNG.length, type: "image/png" });
    const probe = await fetch(g.post.url, {
      method: "POST",
      body: form({ ...g.post.fields, key: "probe" }, PNG, "image/png"),
    });
    if (probe.status === 501) {
      // TODO(store): remove once the embedded store serves POST policy uploads (issue 3).
      t.todo("the embedded store does not implement POST uploads yet");
      return;
    }
    const bigger = await fetch(g.post.url, {
      method: "POST",
      body: form(g.post.fields, Buffer.concat([PNG, PNG]), "image/png"),
    });
    assert.equal(bigger.status, 400, "content-length-range");
    const otherKey = await fetch(g.post.url, {
      method: "POST",
      body: form({ ...g.post.fields, key: "acme/bob/x.png" }, PNG, "image/png"),
    });
    assert.equal(otherKey.status, 403, "the key is in the signed policy");
    const ok = await fetch(g.post.url, { method: "POST", body: form(g.post.fields, PNG, "image/png") });
    assert.equal(ok.status, 201, await ok.text());
    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(((await done.json()) as { state: string }).state, "ready");
  });
});
