// A profile's server-side encryption is signed into every grant, so storage
// refuses an upload that leaves it out, and the stored file reports it.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../config/load.ts";
import { grant, type Harness, putBytes, signParts, startHarness } from "../test/harness.ts";

const MiB = 1024 * 1024;

describe("server-side encryption per profile", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      config: {
        profiles: {
          sealed: { encryption: "AES256", multipartThreshold: "6MB", partSize: "5MB" },
          form: { encryption: "AES256", method: "post" },
          kms: { encryption: "aws:kms", kmsKeyId: "alias/app", bucketKey: true },
        },
      },
    });
  });
  after(() => h?.close());

  /** Completes an upload and returns the headers storage sends with its download. */
  async function downloadHeaders(id: string): Promise<Headers> {
    const done = await h.api(`/v1/uploads/${id}/complete`, { method: "POST" });
    assert.equal(((await done.json()) as { state: string }).state, "ready");
    const dl = await h.api(`/v1/files/${id}/download`);
    const object = await fetch(dl.headers.get("location") as string);
    await object.body?.cancel();
    assert.equal(object.status, 200);
    return object.headers;
  }

  it("PUT: the grant signs x-amz-server-side-encryption; without it storage refuses the upload", async () => {
    const data = randomBytes(1000);
    const g = await grant(h, {
      profile: "sealed",
      name: "a.bin",
      size: data.length,
      type: "application/octet-stream",
    });
    assert.equal(g.put.headers["x-amz-server-side-encryption"], "AES256");
    const { "x-amz-server-side-encryption": _dropped, ...without } = g.put.headers;
    assert.equal((await putBytes({ url: g.put.url, headers: without }, data)).status, 403);
    assert.equal((await putBytes(g.put, data)).status, 200);
    assert.equal((await downloadHeaders(g.upload.id)).get("x-amz-server-side-encryption"), "AES256");
  });

  it("multipart: the upload is created encrypted, and the file stays so", async () => {
    const data = randomBytes(6 * MiB + 10);
    const g = await grant(h, {
      profile: "sealed",
      name: "m.bin",
      size: data.length,
      type: "application/octet-stream",
    });
    assert.equal(g.upload.method, "multipart");
    const parts = [];
    for (const part of await signParts(h, g.upload.id, [1, 2])) {
      const start = (part.partNumber - 1) * 5 * MiB;
      const body = data.subarray(start, Math.min(start + 5 * MiB, data.length));
      const res = await fetch(part.url, { method: "PUT", body });
      assert.equal(res.status, 200);
      parts.push({ partNumber: part.partNumber, etag: res.headers.get("etag") as string });
    }
    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST", json: { parts } });
    assert.equal(((await done.json()) as { state: string }).state, "ready");
    const dl = await h.api(`/v1/files/${g.upload.id}/download`);
    const object = await fetch(dl.headers.get("location") as string);
    assert.equal(object.headers.get("x-amz-server-side-encryption"), "AES256");
    assert.ok(Buffer.from(await object.arrayBuffer()).equals(data));
  });

  it("POST: the policy requires the encryption field; a form without it is refused", async () => {
    const data = Buffer.from("encrypted form body");
    const g = await grant(h, { profile: "form", name: "f.txt", size: data.length, type: "text/plain" });
    assert.equal(g.post.fields["x-amz-server-side-encryption"], "AES256");
    const post = (fields: Record<string, string>) => {
      const body = new FormData();
      for (const [name, value] of Object.entries(fields)) body.append(name, value);
      body.append("file", new Blob([data], { type: "text/plain" }), "f.txt");
      return fetch(g.post.url, { method: "POST", body });
    };
    const { "x-amz-server-side-encryption": _dropped, ...without } = g.post.fields;
    assert.equal((await post(without)).status, 403);
    assert.equal((await post(g.post.fields)).status, 201);
    assert.equal((await downloadHeaders(g.upload.id)).get("x-amz-server-side-encryption"), "AES256");
  });

  it("aws:kms with a key id and a bucket key: signed, and reported by storage", async () => {
    const data = randomBytes(100);
    const g = await grant(h, {
      profile: "kms",
      name: "k.bin",
      size: data.length,
      type: "application/octet-stream",
    });
    assert.equal(g.put.headers["x-amz-server-side-encryption-aws-kms-key-id"], "alias/app");
    assert.equal((await putBytes(g.put, data)).status, 200);
    const headers = await downloadHeaders(g.upload.id);
    assert.equal(headers.get("x-amz-server-side-encryption"), "aws:kms");
    assert.equal(headers.get("x-amz-server-side-encryption-aws-kms-key-id"), "alias/app");
  });

  it("refuses a KMS key on a profile that does not use aws:kms", () => {
    assert.throws(
      () =>
        parseConfig({
          storage: { endpoint: "http://127.0.0.1:1", accessKeyId: "a", secretAccessKey: "b" },
          profiles: { p: { encryption: "AES256", kmsKeyId: "alias/x" } },
        }),
      /profiles\.p\.encryption: kmsKeyId and bucketKey need encryption: aws:kms/,
    );
  });
});
