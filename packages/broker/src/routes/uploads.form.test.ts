import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { formBody, PNG, postForm, stored as storedIn, type UploadJson } from "../test/form.ts";
import { grant, type Harness, startHarness } from "../test/harness.ts";

describe("form grants (plain HTML forms, no script)", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      config: {
        profiles: { avatar: { minSize: 8, maxSize: 1024, types: ["image/png", "image/jpeg"] } },
      },
    });
  });
  after(() => h?.close());

  const formGrant = (as = "alice") => grant(h, { form: true, redirect: "/form/done" }, as);
  const complete = async (id: string) => {
    const res = await h.api(`/v1/uploads/${id}/complete`, { method: "POST" });
    return { status: res.status, body: (await res.json()) as UploadJson & { error?: { code: string } } };
  };
  const stored = (key: string) => storedIn(h, key);

  it("signs a policy for the upload's own prefix, the profile's size range and the redirect", async () => {
    const g = await formGrant();
    assert.equal(g.upload.method, "form");
    const prefix = `acme/alice/${g.upload.id}/incoming/`;
    assert.equal(g.upload.key, prefix);
    assert.equal(g.post.fields.key, `${prefix}\${filename}`);
    // The trailing `&`: RGW appends `?bucket=…` even after a query (rgw.test.ts).
    assert.equal(g.post.fields.success_action_redirect, `${h.url}/form/done?upload=${g.upload.id}&`);
    assert.equal(g.post.fields["x-amz-meta-upload-id"], g.upload.id);
    assert.equal(g.post.fields["Content-Type"], undefined, "a form cannot set the type");
    const policy = JSON.parse(Buffer.from(g.post.fields.Policy!, "base64").toString()) as {
      conditions: unknown[];
    };
    assert.deepEqual(policy.conditions, [
      { bucket: "sluice" },
      { success_action_redirect: g.post.fields.success_action_redirect },
      { "x-amz-meta-upload-id": g.upload.id },
      ["starts-with", "$key", prefix],
      { "X-Amz-Algorithm": "AWS4-HMAC-SHA256" },
      { "X-Amz-Credential": g.post.fields["X-Amz-Credential"] },
      { "X-Amz-Date": g.post.fields["X-Amz-Date"] },
      ["content-length-range", 8, 1024],
    ]);
  });

  it("refuses redirects off the broker and re-issuing a form grant", async () => {
    for (const redirect of ["//evil.example/x", "https://evil.example/", "/\\evil.example", "done"]) {
      const res = await h.api("/v1/uploads", { method: "POST", json: { form: true, redirect } });
      assert.equal(res.status, 400, redirect);
    }
    const g = await formGrant();
    const again = await h.api(`/v1/uploads/${g.upload.id}/grant`, { method: "POST" });
    assert.equal(again.status, 409);
  });

  it("redirects back; completion finds the file by prefix, names, sizes and types it from storage", async () => {
    const g = await formGrant();
    const early = await complete(g.upload.id);
    assert.equal(early.status, 409, "nothing posted yet");
    assert.equal(early.body.error?.code, "NotUploaded");

    // Browsers send the base name; a hand-made form may send a path and leading dots.
    const res = await postForm(g, PNG, "../..\\..Me & you.png");
    assert.equal(res.status, 303, await res.text());
    const location = new URL(res.headers.get("location")!);
    assert.equal(`${location.origin}${location.pathname}`, `${h.url}/form/done`);
    assert.equal(location.searchParams.get("upload"), g.upload.id);
    assert.ok(location.searchParams.get("key")!.startsWith(g.upload.key));

    const done = await complete(g.upload.id);
    assert.equal(done.status, 200);
    assert.equal(done.body.state, "ready");
    assert.equal(done.body.name, "Me & you.png", "last segment, no leading dots");
    assert.equal(done.body.size, PNG.length);
    assert.equal(done.body.type, "image/png", "sniffed");
    assert.equal(done.body.key, `acme/alice/${g.upload.id}/Me___you.png`);
    assert.ok(await stored(done.body.key), "the file is at its final key");
    assert.ok(!(await stored(location.searchParams.get("key")!)), "incoming/ emptied");
    assert.equal((await complete(g.upload.id)).body.state, "ready", "idempotent");

    // The form stays valid until it expires: a second post lands under incoming/, never over the file.
    const replay = await postForm(g, Buffer.concat([PNG, Buffer.from("tampered")]), "Me & you.png");
    assert.equal(replay.status, 303);
    const download = await h.api(`/v1/files/${g.upload.id}/download`);
    const bytes = Buffer.from(await (await fetch(download.headers.get("location")!)).arrayBuffer());
    assert.deepEqual(bytes, PNG);
  });

  it("rejects a type the profile does not allow, with the reason, and removes the object", async () => {
    for (const [content, name, type] of [
      [Buffer.from("<!doctype html><script>alert(1)</script>"), "cat.html", "text/html"],
      [Buffer.concat([Buffer.from("MZ"), Buffer.alloc(200)]), "cat.png", "application/x-msdownload"],
    ] as const) {
      const g = await formGrant();
      assert.equal((await postForm(g, content, name)).status, 303);
      const done = await complete(g.upload.id);
      assert.equal(done.body.state, "rejected", name);
      assert.equal(done.body.reason, `type ${type} is not allowed by this profile`);
      assert.ok(!(await stored(`${g.upload.key}${name}`)));
    }
  });

  it("rejects two files posted with one form and removes both", async () => {
    const g = await formGrant();
    assert.equal((await postForm(g, PNG, "a.png")).status, 303);
    assert.equal((await postForm(g, PNG, "b.png")).status, 303);
    const done = await complete(g.upload.id);
    assert.equal(done.body.state, "rejected");
    assert.equal(done.body.reason, "more than one file was posted with this form");
    assert.ok(!(await stored(`${g.upload.key}a.png`)));
    assert.ok(!(await stored(`${g.upload.key}b.png`)));
  });

  it("storage refuses another user's prefix and sizes outside the profile; nothing is stored", async () => {
    const g = await formGrant();
    const bob = await formGrant("bob");
    const tampered = await fetch(g.post.url, {
      method: "POST",
      body: formBody({ ...g.post.fields, key: `${bob.upload.key}\${filename}` }, PNG, "x.png"),
    });
    assert.equal(tampered.status, 403);
    assert.match(await tampered.text(), /AccessDenied/);
    const big = await postForm(g, Buffer.alloc(1025, 1), "big.png");
    assert.equal(big.status, 400);
    assert.match(await big.text(), /EntityTooLarge/);
    const small = await postForm(g, Buffer.alloc(3, 1), "small.png");
    assert.equal(small.status, 400);
    for (const name of ["x.png", "big.png", "small.png"]) {
      assert.ok(!(await stored(`${g.upload.key}${name}`)), name);
      assert.ok(!(await stored(`${bob.upload.key}${name}`)), name);
    }
    assert.equal((await complete(g.upload.id)).status, 409);
    assert.equal((await complete(bob.upload.id)).status, 404, "another user's upload");
    // The server keeps serving.
    assert.equal((await postForm(g, PNG, "ok.png")).status, 303);
    assert.equal((await complete(g.upload.id)).body.state, "ready");
  });
});
