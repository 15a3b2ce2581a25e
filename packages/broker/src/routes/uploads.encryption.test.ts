// A profile's server-side encryption is signed into every grant, so storage
// refuses an upload that leaves it out, and the stored file reports it. Under
// SSE-KMS (emulated by the embedded store as AWS does it: ETags that are no
// MD5, a copy with its own) promotion still verifies its copy.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { parseConfig } from "../config/load.ts";
import { getUpload } from "../db/uploads.ts";
import { grant, type Harness, putBytes, sha256Hex, signParts, startHarness } from "../test/harness.ts";
import { promote } from "../verification/promote.ts";

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
          kmsParts: { encryption: "aws:kms", multipartThreshold: "6MB", partSize: "5MB" },
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

  /** A PUT grant of the kms profile for `data`, its SHA-256 declared. */
  const kmsGrant = (name: string, data: Uint8Array) =>
    grant(h, {
      profile: "kms",
      name,
      size: data.length,
      type: "application/octet-stream",
      sha256: sha256Hex(data),
    });

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

  for (const [profile, encryption] of [
    ["sealed", "AES256"],
    // Under SSE-KMS no ETag compares (parts, object and copy each have their own).
    ["kmsParts", "aws:kms"],
  ] as const) {
    it(`multipart, ${encryption}: the upload is created encrypted, and the promoted file stays so`, async () => {
      const data = randomBytes(6 * MiB + 10);
      const g = await grant(h, {
        profile,
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
      assert.equal(object.headers.get("x-amz-server-side-encryption"), encryption);
      assert.ok(Buffer.from(await object.arrayBuffer()).equals(data));
    });
  }

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

  it("aws:kms with a key id and a bucket key: signed, reported by storage, promoted though its copy's ETag differs", async () => {
    const data = randomBytes(100);
    const g = await kmsGrant("k.bin", data);
    assert.equal(g.put.headers["x-amz-server-side-encryption-aws-kms-key-id"], "alias/app");
    const put = await putBytes(g.put, data);
    assert.equal(put.status, 200);
    const headers = await downloadHeaders(g.upload.id);
    assert.equal(headers.get("x-amz-server-side-encryption"), "aws:kms");
    assert.equal(headers.get("x-amz-server-side-encryption-aws-kms-key-id"), "alias/app");
    // As on AWS: under SSE-KMS the ETag is no MD5, and the promoted copy has its own.
    assert.notEqual(headers.get("etag"), put.headers.get("etag"));
    assert.notEqual(headers.get("etag"), `"${createHash("md5").update(data).digest("hex")}"`);
  });

  it("aws:kms: the promotion copy is checked by size and checksum; another object is never promoted", async () => {
    const data = randomBytes(100);
    const g = await kmsGrant("c.bin", data);
    assert.equal((await putBytes(g.put, data)).status, 200);
    const ctx = h.context();
    const row = (await getUpload(ctx.db, g.upload.id))!;
    const head = await ctx.s3.send(
      new HeadObjectCommand({ Bucket: ctx.target.bucket, Key: row.incoming_key }),
    );
    const checked = { ...row, etag: head.ETag! };
    await promote(ctx, checked);
    const copy = await ctx.s3.send(
      new HeadObjectCommand({ Bucket: ctx.target.bucket, Key: row.key, ChecksumMode: "ENABLED" }),
    );
    assert.equal(copy.ChecksumSHA256, Buffer.from(sha256Hex(data), "hex").toString("base64"));
    // A record whose checksum or size is not the copy's: the copy is undone.
    for (const wrong of [{ sha256: sha256Hex(randomBytes(8)) }, { size: 99 }]) {
      await assert.rejects(promote(ctx, { ...checked, ...wrong }), /changed or disappeared/);
      await assert.rejects(ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.target.bucket, Key: row.key })));
    }
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
