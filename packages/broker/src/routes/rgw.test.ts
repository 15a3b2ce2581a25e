// The same flows against Ceph RGW 16 (CI tier): the broker must not depend on
// anything the embedded store does beyond the S3 API.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { DeleteTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { rgwTier } from "@sluice/core/testing";
import { setupBucketEvents } from "../admin.ts";
import { deleteObjects } from "../storage/delete-objects.ts";
import { formBody, PNG, postForm, settled, stored } from "../test/form.ts";
import { grant, type Harness, putBytes, sha256Hex, signParts, startHarness } from "../test/harness.ts";

const tier = rgwTier();
const MiB = 1024 * 1024;

describe("broker against Ceph RGW", { skip: tier.available ? false : tier.reason }, () => {
  let h: Harness;
  before(async () => {
    if (!tier.available) return;
    h = await startHarness({
      // RGW 16 ignores x-amz-checksum-*: the broker checks declared SHA-256 itself.
      storage: { ...tier.value, capabilities: { checksums: false } },
      config: {
        profiles: {
          default: { maxSize: "1GB", multipartThreshold: "6MB", partSize: "5MB" },
          avatar: { minSize: 8, maxSize: 1024, types: ["image/png"] },
        },
      },
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
    const parts = await signParts(h, g.upload.id, [1, 2]);
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

  it("deletes objects in batches with DeleteObjects (Content-MD5), not one at a time", async () => {
    const { s3, target, log } = h.context();
    const keys = Array.from({ length: 3 }, () => `acme/alice/${randomUUID()}/x.txt`);
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: target.bucket, Key, Body: "x" }));
    const lines: string[] = [];
    const spy = Object.create(log, { info: { value: (_: unknown, message: string) => lines.push(message) } });
    assert.equal(await deleteObjects({ s3, bucket: target.bucket, log: spy }, [...keys, "acme/missing"]), 0);
    assert.deepEqual(lines, [], "no fallback to single deletes");
    for (const Key of keys)
      await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key })));
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
    assert.equal((await fetch(link.url, { redirect: "manual" })).status, 410, "used up: Gone");
  });

  it("form grant: fields posted as a browser would, redirect, completion, ready, same bytes", async () => {
    const g = await grant(h, { form: true, redirect: "/form/done", profile: "avatar" });
    // RGW differs from S3 and the embedded store (which keep the base name): ${filename}
    // is the name exactly as sent, path included, so the object nests under incoming/.
    const posted = await postForm(g, PNG, "photos/Me & you.png");
    assert.equal(posted.status, 303, await posted.text());
    const location = new URL(posted.headers.get("location")!);
    assert.equal(`${location.origin}${location.pathname}`, `${h.url}/form/done`);
    // RGW also appends `?bucket=…` after the redirect's own query: the signed trailing `&` keeps `upload` whole.
    assert.match(location.search, /^\?upload=[0-9a-f-]{36}&\?bucket=/);
    assert.equal(location.searchParams.get("upload"), g.upload.id);
    const incoming = `${g.upload.key}photos/Me & you.png`;
    assert.equal(location.searchParams.get("key"), incoming);

    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(done.status, 200, await done.clone().text());
    const file = await settled(h, g.upload.id);
    assert.equal(file.state, "ready");
    assert.equal(file.name, "Me & you.png");
    assert.equal(file.type, "image/png");
    assert.equal(file.key, `acme/alice/${g.upload.id}/Me___you.png`);
    assert.ok(!(await stored(h, incoming)), "incoming/ emptied");
    const dl = await h.api(`/v1/files/${g.upload.id}/download`);
    const bytes = Buffer.from(await (await fetch(dl.headers.get("location")!)).arrayBuffer());
    assert.deepEqual(bytes, PNG);
  });

  it("form grant: RGW refuses an oversize file and a key outside the upload's prefix", async () => {
    const g = await grant(h, { form: true, redirect: "/form/done", profile: "avatar" });
    const big = await postForm(g, Buffer.alloc(1025, 1), "big.png");
    assert.equal(big.status, 400);
    assert.match(await big.text(), /EntityTooLarge/);
    const other = `acme/alice/${randomUUID()}/`;
    const tampered = await fetch(g.post.url, {
      method: "POST",
      body: formBody({ ...g.post.fields, key: `${other}\${filename}` }, PNG, "x.png"),
    });
    assert.equal(tampered.status, 403);
    assert.ok(!(await stored(h, `${g.upload.key}big.png`)));
    assert.ok(!(await stored(h, `${other}x.png`)));
    const early = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(early.status, 409, "nothing stored for the form");
  });
});

describe("storage events from Ceph RGW", { skip: tier.available ? false : tier.reason }, () => {
  const EVENTS_TOKEN = randomBytes(24).toString("hex");
  let h: Harness;
  let topic: string | undefined;
  before(async () => {
    if (!tier.available) return;
    h = await startHarness({
      storage: { ...tier.value, capabilities: { checksums: false } },
      config: { events: { token: EVENTS_TOKEN } },
    });
    topic = (await setupBucketEvents(h.config, { pushEndpoint: `${h.url}/v1/events/s3` })).arn;
    assert.match(topic, /^arn:aws:sns:/);
  });
  after(async () => {
    // RGW keeps a delivery queue per persistent topic: leave none behind for later tests.
    if (topic && tier.available) {
      const { endpoint, region, accessKeyId, secretAccessKey } = tier.value;
      const sns = new SNSClient({ endpoint, region, credentials: { accessKeyId, secretAccessKey } });
      await sns.send(new DeleteTopicCommand({ TopicArn: topic }));
      sns.destroy();
    }
    await h?.close();
  });

  it("an upload becomes ready without the client calling complete (RGW topic → POST /v1/events/s3)", async () => {
    const data = randomBytes(10_000);
    const g = await grant(h, { name: "quiet.bin", size: data.length, type: "application/octet-stream" });
    assert.equal((await putBytes(g.put, data)).status, 200);
    // RGW delivers persistent topics from a background queue: usually within a second or two.
    const deadline = Date.now() + 30_000;
    let state = "pending";
    while (state !== "ready" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      state = ((await (await h.api(`/v1/uploads/${g.upload.id}`)).json()) as { state: string }).state;
    }
    assert.equal(state, "ready");
  });

  it("refuses RGW-shaped events whose opaque data is not the events token", async () => {
    const post = (records: unknown[]) =>
      fetch(`${h.url}/v1/events/s3`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ Records: records }),
      });
    const record = (opaqueData?: string) => ({
      eventName: "ObjectCreated:Put",
      opaqueData,
      s3: { bucket: { name: h.config.storage.bucket }, object: { key: "x" } },
    });
    assert.equal((await post([record(EVENTS_TOKEN)])).status, 200);
    assert.equal((await post([record("wrong")])).status, 401);
    assert.equal((await post([record(EVENTS_TOKEN), record()])).status, 401, "every record must carry it");
    assert.equal((await post([])).status, 401);
  });
});
