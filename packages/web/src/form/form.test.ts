// The no-JavaScript form's sign-in, cookie and hostile requests, over HTTP (no browser).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Harness, startHarness } from "@sluice/broker/testing";
import { createWebPages } from "../index.ts";
import { createSealer } from "./session.ts";

describe("/form sessions", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      config: { profiles: { default: { maxSize: "1MB", types: ["image/png"] } } },
      broker: { web: createWebPages() },
    });
  });
  after(() => h?.close());

  const signIn = (token: string, headers: Record<string, string> = {}) =>
    fetch(`${h.url}/form/session`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams({ token }),
      redirect: "manual",
    });
  const get = (path: string, cookie?: string) =>
    fetch(`${h.url}${path}`, { headers: cookie ? { cookie } : {}, redirect: "manual" });

  it("signs in with a sealed HttpOnly, SameSite=Lax cookie scoped to /form, not the raw token", async () => {
    const token = await h.token();
    const res = await signIn(token, { "sec-fetch-site": "same-origin" });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/form");
    const cookie = res.headers.get("set-cookie")!;
    assert.match(cookie, /^sluice_form=[A-Za-z0-9_-]+; Path=\/form; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    const value = cookie.split(";")[0]!;
    assert.ok(!value.includes(token) && !value.includes(token.split(".")[1]!), "the token is not readable");
    const form = await get("/form", value);
    assert.equal(form.status, 200);
    const body = await form.text();
    assert.match(body, /enctype="multipart\/form-data"/);
    assert.match(
      body,
      /<input type="hidden" name="key" value="acme\/alice\/[0-9a-f-]{36}\/incoming\/\$\{filename\}">/,
    );
    assert.doesNotMatch(body, /<script/);
  });

  it("refuses cross-site sign-in and sign-out, wrong tokens and oversized bodies", async () => {
    const token = await h.token();
    const refused: Record<string, string>[] = [
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      { origin: "http://evil.example" },
      { origin: "null" },
    ];
    for (const headers of refused) {
      const res = await signIn(token, headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.equal(res.headers.get("set-cookie"), null);
    }
    const out = await fetch(`${h.url}/form/signout`, {
      method: "POST",
      headers: { "sec-fetch-site": "cross-site" },
      redirect: "manual",
    });
    assert.equal(out.status, 403);
    const wrong = await signIn(`${token.slice(0, -4)}AAAA`);
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /not accepted/);
    assert.equal(wrong.headers.get("set-cookie"), null);
    const huge = await signIn("x".repeat(20_000));
    assert.equal(huge.status, 400);
    // The server keeps serving.
    assert.equal((await signIn(token)).status, 303);
  });

  it("a forged, foreign-key or garbage cookie is no session", async () => {
    const other = createSealer("another key").seal(await h.token());
    for (const cookie of [`sluice_form=${other}`, "sluice_form=AAAA", `sluice_form=${"A".repeat(40)}`]) {
      const res = await get("/form/done?upload=00000000-0000-4000-8000-000000000000", cookie);
      assert.equal(res.status, 401, cookie);
      assert.match(await res.text(), /Sign in to upload/);
    }
  });

  it("/form/done shows only the signed-in user's uploads and never trusts the query's key", async () => {
    const cookie = (await signIn(await h.token("bob"))).headers.get("set-cookie")!.split(";")[0]!;
    const alices = await h.api("/v1/uploads", {
      method: "POST",
      json: { form: true, redirect: "/form/done" },
    });
    const id = ((await alices.json()) as { upload: { id: string } }).upload.id;
    assert.equal((await get(`/form/done?upload=${id}`, cookie)).status, 404, "another user's upload");
    assert.equal((await get("/form/done?upload=../../v1/files", cookie)).status, 404);
    assert.equal((await get("/form/download?file=nope", cookie)).status, 404);
    const mine = await get("/form", cookie);
    const own = /name="x-amz-meta-upload-id" value="([^"]+)"/.exec(await mine.text())![1]!;
    const done = await get(`/form/done?upload=${own}&key=acme/alice/${id}/incoming/x.png`, cookie);
    assert.equal(done.status, 409, "nothing posted under bob's own prefix");
  });
});
