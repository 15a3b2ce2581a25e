// No grant can ever write the key downloads are served from: every method
// (PUT, POST, multipart, form) writes under the upload's `incoming/` prefix,
// and only the broker's promotion, after every check, writes the file's key.
// The same attacks run against the embedded store and against Ceph RGW.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { rgwTier } from "@sluice/core/testing";
import type { BrokerOptions } from "../app.ts";
import { getUpload } from "../db/uploads.ts";
import { PNG, settled, stored, type UploadJson } from "../test/form.ts";
import {
  type GrantJson,
  grant,
  type Harness,
  incomingKey,
  putBytes,
  signParts,
  startHarness,
} from "../test/harness.ts";
import { promote } from "../verification/promote.ts";
import type { Scanner } from "../verification/scanners.ts";
import { sweep } from "./sweeper.ts";

const MiB = 1024 * 1024;
/** An ELF header padded to the PNG's length: same size, same grant, different content. */
const ELF = Buffer.concat([Buffer.from("7f454c46020101", "hex"), Buffer.alloc(PNG.length - 7, 1)]);

const PROFILES = {
  profiles: {
    default: { multipartThreshold: "6MB", partSize: "5MB" },
    image: { maxSize: "1MB", types: ["image/png"], method: "post" },
    imagePut: { maxSize: "1MB", types: ["image/png"], method: "put" },
  },
};

function postBody(g: GrantJson, file: Uint8Array): FormData {
  const body = new FormData();
  for (const [name, value] of Object.entries(g.post.fields)) body.append(name, value);
  body.append("file", new Blob([file as Uint8Array<ArrayBuffer>], { type: "image/png" }), "x.png");
  return body;
}

async function download(h: Harness, id: string): Promise<Buffer> {
  const res = await h.api(`/v1/files/${id}/download`);
  assert.equal(res.status, 302, await res.clone().text());
  return Buffer.from(await (await fetch(res.headers.get("location")!)).arrayBuffer());
}

async function complete(h: Harness, id: string, json?: unknown): Promise<UploadJson> {
  const res = await h.api(`/v1/uploads/${id}/complete`, { method: "POST", ...(json ? { json } : {}) });
  assert.equal(res.status, 200, await res.clone().text());
  return settled(h, id);
}

/** The object key a presigned URL names (path-style: /bucket/key). */
function urlKey(url: string): string {
  const path = new URL(url).pathname.split("/").slice(2).join("/");
  return decodeURIComponent(path);
}

function describeQuarantine(
  title: string,
  options: {
    skip?: string | false;
    start(config: Record<string, unknown>, broker?: BrokerOptions): Promise<Harness>;
  },
) {
  describe(title, { skip: options.skip ?? false }, () => {
    let h: Harness;
    let unconditional: Harness;
    /** Runs while verification is under way: the grant's holder racing the broker. */
    let duringChecks: Scanner = () => undefined;
    before(async () => {
      if (options.skip) return;
      h = await options.start(PROFILES, { scanners: [(file, open) => duringChecks(file, open)] });
      // A store without write-once (or a broker told not to sign it): If-None-Match cannot help.
      unconditional = await options.start({
        ...PROFILES,
        storage: { capabilities: { conditionalWrites: false } },
      });
    });
    after(async () => {
      await h?.close();
      await unconditional?.close();
    });

    it("a grant used again while the file is being checked: rejected, never served", async () => {
      const g = await grant(h, { profile: "image", name: "me.png", size: PNG.length, type: "image/png" });
      assert.equal((await fetch(g.post.url, { method: "POST", body: postBody(g, PNG) })).status, 201);
      // The PNG passed sniffing; before promotion its quarantined copy is replaced by an ELF.
      duringChecks = async () => {
        const again = await fetch(g.post.url, { method: "POST", body: postBody(g, ELF) });
        assert.equal(again.status, 201);
        return undefined;
      };
      try {
        const file = await complete(h, g.upload.id);
        assert.equal(file.state, "rejected");
        assert.match(file.reason ?? "", /changed or disappeared/);
      } finally {
        duringChecks = () => undefined;
      }
      assert.equal(await stored(h, g.upload.key), false, "never promoted");
      assert.equal(await stored(h, incomingKey(g.upload.key)), false, "quarantine emptied");
    });

    it("the sweeper removes what a grant writes after promotion, and keeps what is in use", async () => {
      const g = await grant(unconditional, {
        profile: "imagePut",
        name: "me.png",
        size: PNG.length,
        type: "image/png",
      });
      const pending = await grant(unconditional, {
        profile: "imagePut",
        name: "p.png",
        size: PNG.length,
        type: "image/png",
      });
      assert.equal((await putBytes(pending.put, PNG)).status, 200);
      assert.equal((await putBytes(g.put, PNG)).status, 200);
      assert.equal((await complete(unconditional, g.upload.id)).state, "ready");
      assert.equal((await putBytes(g.put, ELF)).status, 200);
      const later = Date.now() + 2 * 24 * 3_600_000;
      await sweep(unconditional.context(), { now: later, storage: true });
      assert.equal(await stored(unconditional, incomingKey(g.upload.key)), false, "stray removed");
      assert.equal(await stored(unconditional, g.upload.key), true, "the file stays");
      // The pending grant expired two days on: its quarantine went with it.
      assert.equal(await stored(unconditional, incomingKey(pending.upload.key)), false);
    });

    it("promotion above the single-copy limit copies in parts, exactly what was checked", async () => {
      const data = randomBytes(11 * MiB);
      const g = await grant(h, { name: "parts.bin", size: data.length, type: "application/octet-stream" });
      const ctx = h.context();
      const row = (await getUpload(ctx.db, g.upload.id))!;
      const put = await ctx.s3.send(
        new PutObjectCommand({ Bucket: ctx.target.bucket, Key: row.incoming_key, Body: data }),
      );
      await promote(ctx, { ...row, etag: put.ETag! }, { singleCopyLimit: 5 * MiB, partSize: 5 * MiB });
      assert.equal(await stored(h, row.key), true);
      const copy = await ctx.s3.send(
        new PutObjectCommand({ Bucket: ctx.target.bucket, Key: row.incoming_key, Body: randomBytes(3) }),
      );
      assert.notEqual(copy.ETag, put.ETag);
      await assert.rejects(
        promote(ctx, { ...row, key: `${row.key}.2`, etag: put.ETag!, size: 3 }),
        /changed or disappeared/,
      );
      assert.equal(await stored(h, `${row.key}.2`), false, "a copy of the wrong object is undone");
      const res = await ctx.s3.send(new GetObjectCommand({ Bucket: ctx.target.bucket, Key: row.key }));
      assert.ok(Buffer.from(await res.Body!.transformToByteArray()).equals(data));
    });

    it("a multipart object replaced by one of its size before promotion: no copy of it stays", async () => {
      const data = randomBytes(64 * 1024);
      const g = await grant(h, { name: "mp.bin", size: data.length, type: "application/octet-stream" });
      const ctx = h.context();
      const bucket = ctx.target.bucket;
      const row = (await getUpload(ctx.db, g.upload.id))!;
      // One part (the last part may be small): an "md5-1" ETag, which no copy keeps.
      const { UploadId } = await ctx.s3.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: row.incoming_key }),
      );
      const part = await ctx.s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: row.incoming_key, UploadId, PartNumber: 1, Body: data }),
      );
      await ctx.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: row.incoming_key,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] },
        }),
      );
      // As completion records it: the ETag a HEAD answers (RGW 16's CompleteMultipartUpload has none).
      const head = await ctx.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row.incoming_key }));
      const checked = { ...row, etag: head.ETag! };
      assert.match(checked.etag, /-1"?$/);
      await promote(ctx, checked);
      await promote(ctx, { ...checked, key: `${row.key}.parts` }, { singleCopyLimit: 0, partSize: 5 * MiB });
      for (const key of [row.key, `${row.key}.parts`]) {
        const res = await ctx.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        assert.ok(Buffer.from(await res.Body!.transformToByteArray()).equals(data));
      }
      await ctx.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: row.incoming_key, Body: randomBytes(data.length) }),
      );
      // RGW 16 copies despite x-amz-copy-source-if-match: the check after the copy undoes it.
      for (const [key, limits] of [
        [`${row.key}.2`, {}],
        [`${row.key}.3`, { singleCopyLimit: 0, partSize: 5 * MiB }],
      ] as const) {
        await assert.rejects(promote(ctx, { ...checked, key }, limits), /changed or disappeared/);
        assert.equal(await stored(h, key), false, `${key}: a copy of the wrong object is undone`);
      }
    });

    it("POST: the same policy posted again with an ELF never replaces the verified PNG", async () => {
      const g = await grant(h, { profile: "image", name: "me.png", size: PNG.length, type: "image/png" });
      assert.notEqual(g.post.fields.key, g.upload.key, "the policy names the quarantine key");
      const first = await fetch(g.post.url, { method: "POST", body: postBody(g, PNG) });
      assert.equal(first.status, 201, await first.text());
      assert.equal((await complete(h, g.upload.id)).state, "ready");
      const again = await fetch(g.post.url, { method: "POST", body: postBody(g, ELF) });
      assert.ok([201, 412].includes(again.status), `storage answered ${again.status}`);
      await complete(h, g.upload.id);
      const file = await settled(h, g.upload.id);
      assert.equal(file.state, "ready");
      assert.deepEqual(await download(h, g.upload.id), PNG);
    });

    it("PUT: a leaked URL reused after ready writes only into quarantine, even without write-once", async () => {
      for (const harness of [h, unconditional]) {
        const g = await grant(harness, {
          profile: "imagePut",
          name: "me.png",
          size: PNG.length,
          type: "image/png",
        });
        assert.notEqual(urlKey(g.put.url), g.upload.key, "the URL names the quarantine key");
        assert.equal((await putBytes(g.put, PNG)).status, 200);
        assert.equal((await complete(harness, g.upload.id)).state, "ready");
        const again = await putBytes(g.put, ELF);
        assert.ok([200, 412].includes(again.status), `storage answered ${again.status}`);
        assert.deepEqual(await download(harness, g.upload.id), PNG);
        // Deleting the file frees the quarantine key: a write there still never becomes the file.
        assert.equal((await harness.api(`/v1/files/${g.upload.id}`, { method: "DELETE" })).status, 204);
        assert.equal((await putBytes(g.put, ELF)).status, 200);
        assert.equal(await stored(harness, g.upload.key), false, "nothing at the file's key");
        assert.equal((await harness.api(`/v1/files/${g.upload.id}/download`)).status, 404);
      }
    });

    it("multipart: part URLs name the quarantine key; reusing them after ready changes nothing", async () => {
      const data = randomBytes(7 * MiB);
      const g = await grant(h, { name: "big.bin", size: data.length, type: "application/octet-stream" });
      const parts = await signParts(h, g.upload.id, [1, 2]);
      const etags = [];
      for (const part of parts) {
        assert.notEqual(urlKey(part.url), g.upload.key);
        const start = (part.partNumber - 1) * 5 * MiB;
        const body = data.subarray(start, start + Number(part.headers["content-length"]));
        const sent = await fetch(part.url, { method: "PUT", body: body as Uint8Array<ArrayBuffer> });
        assert.equal(sent.status, 200);
        etags.push({ partNumber: part.partNumber, etag: sent.headers.get("etag")! });
      }
      assert.equal((await complete(h, g.upload.id, { parts: etags })).state, "ready");
      const reused = await fetch(parts[0]!.url, {
        method: "PUT",
        body: randomBytes(5 * MiB) as Uint8Array<ArrayBuffer>,
      });
      assert.equal(reused.status, 404, "the multipart upload is gone");
      assert.ok((await download(h, g.upload.id)).equals(data));
    });
  });
}

describeQuarantine("quarantine on the embedded store", {
  start: (config, broker) => startHarness({ config, broker }),
});

const tier = rgwTier();
describeQuarantine("quarantine on Ceph RGW", {
  skip: tier.available ? false : tier.reason,
  start: ({ storage, ...config }, broker) =>
    startHarness({
      config,
      broker,
      storage: {
        ...(tier.available ? tier.value : ({} as never)),
        capabilities: {
          checksums: false,
          ...(storage as { capabilities?: Record<string, boolean> } | undefined)?.capabilities,
        },
      },
    }),
});
