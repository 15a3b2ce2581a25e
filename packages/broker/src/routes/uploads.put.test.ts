import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { grant, type Harness, putBytes, sha256Hex, startHarness } from "../test/harness.ts";

const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a0e6b6d30000000049454e44ae426082",
  "hex",
);

describe("PUT uploads, grant to ready", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      config: {
        profiles: {
          default: { maxSize: "1MB", types: ["*/*"], method: "put" },
          images: { maxSize: "1MB", types: ["image/*"], method: "put" },
        },
      },
    });
  });
  after(() => h?.close());

  it("uploads, completes, verifies and downloads the same bytes", async () => {
    const data = randomBytes(100_000);
    const g = await grant(h, {
      name: "../../etc/passwd\u0000.bin",
      size: data.length,
      type: "application/octet-stream",
      sha256: sha256Hex(data),
    });
    assert.equal(g.upload.method, "put");
    assert.equal(g.upload.state, "pending");
    assert.equal(g.upload.name, "passwd.bin", "path separators and controls are stripped");
    assert.match(g.upload.key, new RegExp(`^acme/alice/${g.upload.id}/passwd\\.bin$`));
    assert.equal(g.put.headers["if-none-match"], "*");
    assert.ok(g.put.headers["x-amz-checksum-sha256"]);
    const params = [...new URL(g.put.url).searchParams.keys()];
    assert.ok(!params.some((p) => /checksum/i.test(p)), "no checksum parameter baked into the URL");

    const put = await putBytes(g.put, data);
    assert.equal(put.status, 200, await put.text());
    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    const file = (await done.json()) as { state: string };
    assert.equal(done.status, 200);
    assert.equal(file.state, "ready");

    const again = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST", json: {} });
    assert.equal(((await again.json()) as { state: string }).state, "ready", "completion is idempotent");

    const dl = await h.api(`/v1/files/${g.upload.id}/download`);
    assert.equal(dl.status, 302);
    const object = await fetch(dl.headers.get("location")!);
    assert.equal(object.status, 200);
    assert.equal(sha256Hex(new Uint8Array(await object.arrayBuffer())), sha256Hex(data));
    assert.match(object.headers.get("content-disposition") ?? "", /filename\*=UTF-8''passwd\.bin/);
  });

  it("storage refuses a body longer or shorter than the grant", async () => {
    const g = await grant(h, { name: "a.bin", size: 1000, type: "application/octet-stream" });
    assert.doesNotMatch(g.put.url, /checksum/i, "no checksum the client did not ask for");
    const longer = await fetch(g.put.url, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "if-none-match": "*" },
      body: randomBytes(1001),
    });
    assert.equal(longer.status, 403);
    const shorter = await fetch(g.put.url, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "if-none-match": "*" },
      body: randomBytes(999),
    });
    assert.equal(shorter.status, 403);
    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(done.status, 409, "nothing uploaded yet");
  });

  it("storage refuses bytes that do not match the declared SHA-256", async () => {
    const data = randomBytes(5000);
    const g = await grant(h, {
      name: "a.bin",
      size: data.length,
      type: "application/octet-stream",
      sha256: sha256Hex(data),
    });
    const tampered = Buffer.from(data);
    tampered[0]! ^= 1;
    const res = await putBytes(g.put, tampered);
    assert.equal(res.status, 400);
  });

  it("a leaked upload URL cannot overwrite the uploaded object (412)", async () => {
    const data = randomBytes(2000);
    const g = await grant(h, { name: "once.bin", size: data.length, type: "application/octet-stream" });
    assert.equal((await putBytes(g.put, data)).status, 200);
    const replay = await putBytes(g.put, randomBytes(2000));
    assert.equal(replay.status, 412);
  });

  it("rejects a PNG declared as a PDF after upload and removes it", async () => {
    const g = await grant(h, { name: "doc.pdf", size: PNG.length, type: "application/pdf" });
    assert.equal((await putBytes(g.put, PNG)).status, 200);
    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    const file = (await done.json()) as { state: string; reason: string };
    assert.equal(file.state, "rejected");
    assert.match(file.reason, /image\/png/);
    const dl = await h.api(`/v1/files/${g.upload.id}/download`);
    assert.equal(dl.status, 409);
    const raw = await fetch(`${h.storeEndpoint}/sluice/${g.upload.key}`);
    assert.notEqual(raw.status, 200);
  });

  it("accepts a real PNG in the images profile", async () => {
    const g = await grant(h, { profile: "images", name: "dot.png", size: PNG.length, type: "image/png" });
    assert.equal((await putBytes(g.put, PNG)).status, 200);
    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(((await done.json()) as { state: string }).state, "ready");
  });

  it("refuses grants outside the profile: size 413, type 415, bad input 400", async () => {
    const big = await h.api("/v1/uploads", {
      method: "POST",
      json: { name: "a", size: 2 * 1024 * 1024, type: "text/plain" },
    });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: { code: string } }).error.code, "FileTooLarge");
    const type = await h.api("/v1/uploads", {
      method: "POST",
      json: { profile: "images", name: "a", size: 10, type: "application/pdf" },
    });
    assert.equal(type.status, 415);
    for (const body of [
      { name: "a", size: -1, type: "text/plain" },
      { name: "a", size: 1.5, type: "text/plain" },
      { name: "a", size: 10, type: "not a type" },
      { name: "a", size: 10, type: "text/plain", sha256: "zz" },
      { name: "a", size: 10, type: "text/plain", key: "someone/else" },
      { profile: "nope", name: "a", size: 10, type: "text/plain" },
    ]) {
      const res = await h.api("/v1/uploads", { method: "POST", json: body });
      assert.equal(res.status, 400, JSON.stringify(body));
      const err = (await res.json()) as { error: { code: string; message: string } };
      assert.ok(err.error.code && err.error.message);
    }
    const malformed = await h.api("/v1/uploads", {
      method: "POST",
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    assert.equal(malformed.status, 400);
  });

  it("another user's upload is 404, not 403", async () => {
    const g = await grant(h, { name: "mine.txt", size: 5, type: "text/plain" });
    for (const [user, tenant] of [
      ["bob", "acme"],
      ["alice", "other"],
    ]) {
      const res = await h.api(`/v1/uploads/${g.upload.id}`, { as: user, tenant });
      assert.equal(res.status, 404);
    }
    assert.equal((await h.api(`/v1/uploads/${g.upload.id}`)).status, 200);
  });

  it("re-issues the grant of a pending upload, never of a finished one", async () => {
    const data = Buffer.from("again\n");
    const g = await grant(h, { name: "again.txt", size: data.length, type: "text/plain" });
    const res = await h.api(`/v1/uploads/${g.upload.id}/grant`, { method: "POST" });
    assert.equal(res.status, 200);
    const fresh = (await res.json()) as typeof g;
    assert.equal(fresh.upload.key, g.upload.key, "same key");
    assert.equal((await putBytes(fresh.put, data)).status, 200);
    await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal((await h.api(`/v1/uploads/${g.upload.id}/grant`, { method: "POST" })).status, 409);
    assert.equal(
      (await h.api(`/v1/uploads/${g.upload.id}/grant`, { method: "POST", as: "bob" })).status,
      404,
    );
  });

  it("aborting a pending upload", async () => {
    const g = await grant(h, { name: "x.txt", size: 5, type: "text/plain" });
    const res = await h.api(`/v1/uploads/${g.upload.id}`, { method: "DELETE" });
    assert.equal(((await res.json()) as { state: string }).state, "aborted");
    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(done.status, 409);
  });
});
