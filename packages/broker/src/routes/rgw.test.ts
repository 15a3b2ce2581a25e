// The same flows against Ceph RGW 16 (CI tier): the broker must not depend on
// anything the embedded store does beyond the S3 API.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { rgwTier } from "@sluice/core/testing";
import { grant, type Harness, putBytes, sha256Hex, startHarness } from "../test/harness.ts";

const tier = rgwTier();
const MiB = 1024 * 1024;

describe("broker against Ceph RGW", { skip: tier.available ? false : tier.reason }, () => {
  let h: Harness;
  before(async () => {
    if (!tier.available) return;
    h = await startHarness({
      // RGW 16 ignores x-amz-checksum-*: the broker checks declared SHA-256 itself.
      storage: { ...tier.value, capabilities: { checksums: false } },
      config: { profiles: { default: { maxSize: "1GB", multipartThreshold: "6MB", partSize: "5MB" } } },
    });
  });
  after(() => h?.close());

  it("PUT: grant, upload, complete, ready, download; a leaked URL cannot overwrite", async () => {
    const data = randomBytes(50_000);
    const g = await grant(h, {
      name: "rgw.bin",
      size: data.length,
      type: "application/octet-stream",
      sha256: sha256Hex(data),
    });
    assert.equal(g.put.headers["x-amz-checksum-sha256"], undefined, "not signed when storage ignores it");
    assert.equal((await putBytes(g.put, data)).status, 200);
    assert.equal((await putBytes(g.put, randomBytes(50_000))).status, 412);
    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(((await done.json()) as { state: string }).state, "ready");
    const dl = await h.api(`/v1/files/${g.upload.id}/download`);
    const object = await fetch(dl.headers.get("location")!);
    assert.equal(sha256Hex(new Uint8Array(await object.arrayBuffer())), sha256Hex(data));
  });

  it("PUT with a wrong declared SHA-256 is rejected by the broker's own digest", async () => {
    const data = randomBytes(1000);
    const g = await grant(h, {
      name: "bad.bin",
      size: data.length,
      type: "application/octet-stream",
      sha256: sha256Hex(randomBytes(8)),
    });
    assert.equal((await putBytes(g.put, data)).status, 200);
    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(((await done.json()) as { state: string }).state, "rejected");
  });

  it("refuses a body longer than the grant", async () => {
    const g = await grant(h, { name: "a.bin", size: 100, type: "application/octet-stream" });
    const res = await fetch(g.put.url, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "if-none-match": "*" },
      body: randomBytes(101),
    });
    assert.equal(res.status, 403);
  });

  it("multipart: parts pinned to their length, completion checked against ListParts", async () => {
    const data = randomBytes(7 * MiB);
    const g = await grant(h, { name: "big.bin", size: data.length, type: "application/octet-stream" });
    const res = await h.api(`/v1/uploads/${g.upload.id}/parts`, {
      method: "POST",
      json: { partNumbers: [1, 2] },
    });
    const { parts } = (await res.json()) as {
      parts: Array<{ partNumber: number; url: string; headers: Record<string, string> }>;
    };
    const etags = [];
    for (const part of parts) {
      const start = (part.partNumber - 1) * 5 * MiB;
      const body = data.subarray(start, start + Number(part.headers["content-length"]));
      const sent = await fetch(part.url, { method: "PUT", body: body as Uint8Array<ArrayBuffer> });
      assert.equal(sent.status, 200);
      etags.push({ partNumber: part.partNumber, etag: sent.headers.get("etag")! });
    }
    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, {
      method: "POST",
      json: { parts: etags },
    });
    assert.equal(((await done.json()) as { state: string }).state, "ready");
  });

  it("share link redirects to a presigned GET that RGW serves", async () => {
    const data = Buffer.from("shared over rgw\n");
    const g = await grant(h, { name: "s.txt", size: data.length, type: "text/plain" });
    await putBytes(g.put, data);
    await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    const link = (await (
      await h.api(`/v1/files/${g.upload.id}/links`, { method: "POST", json: { maxDownloads: 1 } })
    ).json()) as { url: string };
    const first = await fetch(link.url, { redirect: "manual" });
    assert.equal(first.status, 302);
    assert.equal(await (await fetch(first.headers.get("location")!)).text(), data.toString());
    assert.equal((await fetch(link.url, { redirect: "manual" })).status, 404);
  });
});
