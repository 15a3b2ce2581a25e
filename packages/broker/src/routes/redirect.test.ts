// A form grant's redirect is a path on this broker: the parsed URL keeps the
// broker's origin. Tabs and newlines (dropped by URL parsing), `//`,
// backslashes (read as `/`) and absolute URLs are refused, so storage is never
// told to send the browser elsewhere (open redirect).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Harness, startHarness } from "../test/harness.ts";
import { brokerPath } from "./uploads.ts";

const HOSTILE = [
  "/\t/evil.example/x",
  "/\n/evil.example/x",
  "/\r\n/evil.example/x",
  "//evil.example/x",
  "/\\evil.example/x",
  "\\/evil.example/x",
  "/\\/evil.example",
  "https://evil.example/x",
  "http:evil.example",
  "javascript:alert(1)",
  "/form/done?next=//evil.example",
  "/form/done#x",
  "/../../x",
  " /form/done",
  "/form/\u0000done",
];

describe("form grant redirects", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { profiles: { avatar: { types: ["image/png"] } } } });
  });
  after(() => h?.close());

  it("accepts a path on this broker and signs it on the broker's origin", async () => {
    const res = await h.api("/v1/uploads", { method: "POST", json: { form: true, redirect: "/form/done" } });
    assert.equal(res.status, 201);
    const { post } = (await res.json()) as { post: { fields: Record<string, string> } };
    const signed = new URL(post.fields.success_action_redirect!);
    assert.equal(signed.origin, new URL(h.url).origin);
    assert.equal(signed.pathname, "/form/done");
  });

  for (const redirect of HOSTILE) {
    it(`refuses ${JSON.stringify(redirect)} with 400, no grant`, async () => {
      const res = await h.api("/v1/uploads", { method: "POST", json: { form: true, redirect } });
      assert.equal(res.status, 400, await res.clone().text());
      assert.equal(((await res.json()) as { post?: unknown }).post, undefined);
    });
  }

  it("checks the parsed URL, whatever the raw string looked like", () => {
    for (const redirect of HOSTILE) {
      assert.throws(() => brokerPath(redirect, "http://127.0.0.1:8080"), /path on this broker/, redirect);
    }
    assert.equal(
      brokerPath("/form/done", "https://files.example/app/").href,
      "https://files.example/form/done",
    );
  });
});
