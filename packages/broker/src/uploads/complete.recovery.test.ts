// Completion across crash windows: storage completed a multipart upload but the
// broker never recorded it (killed in between), and many completions at once.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  HeadObjectCommand,
} from "@aws-sdk/client-s3";
import { listAudit } from "../db/audit.ts";
import { getUpload } from "../db/uploads.ts";
import { testDatabases } from "../test/databases.ts";
import { grant, type Harness, sha256Hex, startHarness } from "../test/harness.ts";
import { sweep } from "./sweeper.ts";

const MiB = 1024 * 1024;

/** The kill point: storage completed the multipart upload, the broker still holds it pending. */
async function completeInStorage(
  h: Harness,
  sent: Awaited<ReturnType<typeof partsSent>>,
  parts = sent.etags,
) {
  await h.context().s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: h.context().target.bucket,
      Key: sent.key,
      UploadId: sent.multipartId,
      MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
    }),
  );
}

/** A multipart upload with every part sent (the client's side done), not yet completed. */
async function partsSent(h: Harness, data: Uint8Array) {
  const g = await grant(h, { name: "big.bin", size: data.length, type: "application/octet-stream" });
  assert.equal(g.upload.method, "multipart");
  const partNumbers = Array.from({ length: g.multipart.partCount }, (_, i) => i + 1);
  const res = await h.api(`/v1/uploads/${g.upload.id}/parts`, { method: "POST", json: { partNumbers } });
  const { parts } = (await res.json()) as { parts: Array<{ partNumber: number; url: string }> };
  const etags: Array<{ partNumber: number; etag: string }> = [];
  for (const part of parts) {
    const start = (part.partNumber - 1) * g.multipart.partSize;
    const body = data.subarray(start, start + g.multipart.partSize) as Uint8Array<ArrayBuffer>;
    const sent = await fetch(part.url, { method: "PUT", body });
    assert.equal(sent.status, 200);
    etags.push({ partNumber: part.partNumber, etag: sent.headers.get("etag")! });
  }
  const row = (await getUpload(h.context().db, g.upload.id))!;
  return { id: g.upload.id, key: row.incoming_key, multipartId: row.multipart_id!, etags };
}

const complete = (h: Harness, id: string, etags?: Array<{ partNumber: number; etag: string }>) =>
  h.api(`/v1/uploads/${id}/complete`, { method: "POST", json: etags ? { parts: etags } : {} });

for (const database of testDatabases()) {
  describe(`completion is idempotent across crash windows (${database.name})`, {
    skip: database.skip,
  }, () => {
    let h: Harness;
    let drop: (() => Promise<void>) | undefined;
    before(async () => {
      const created = await database.create();
      drop = created.drop;
      h = await startHarness({
        databaseUrl: created.url,
        config: {
          profiles: { default: { maxSize: "1GB", multipartThreshold: "6MB", partSize: "5MB" } },
        },
      });
    });
    after(async () => {
      await h?.close();
      await drop?.();
    });

    it("storage completed the upload, the broker was killed before recording it: the next complete carries on", async () => {
      const data = randomBytes(11 * MiB);
      const sent = await partsSent(h, data);
      await completeInStorage(h, sent);
      await h.restart();
      assert.equal((await getUpload(h.context().db, sent.id))!.state, "pending");

      const res = await complete(h, sent.id, sent.etags);
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { state: string }).state, "ready");
      const again = await complete(h, sent.id);
      assert.equal(again.status, 200, "a re-run (no part list) gets the same answer");
      const dl = await h.api(`/v1/files/${sent.id}/download`);
      const object = await fetch(dl.headers.get("location")!);
      assert.equal(sha256Hex(new Uint8Array(await object.arrayBuffer())), sha256Hex(data));
    });

    it("nobody comes back: the sweeper completes what storage completed instead of deleting it", async () => {
      const sent = await partsSent(h, randomBytes(6 * MiB));
      await completeInStorage(h, sent);
      const result = await sweep(h.context(), { now: Date.now() + 25 * 3_600_000 });
      assert.equal(result.expired, 0);
      await h.context().waitForVerification(sent.id, 10_000);
      assert.equal((await getUpload(h.context().db, sent.id))!.state, "ready");
    });

    it("50 concurrent completes of one multipart upload all get the same 200 and make one record", async () => {
      const sent = await partsSent(h, randomBytes(6 * MiB));
      const answers = await Promise.all(Array.from({ length: 50 }, () => complete(h, sent.id, sent.etags)));
      const bodies = await Promise.all(
        answers.map((r) => r.json() as Promise<{ id: string; state: string }>),
      );
      assert.deepEqual(
        answers.map((r) => r.status),
        Array(50).fill(200),
        JSON.stringify(bodies.find((b) => !("state" in b))),
      );
      for (const body of bodies) {
        assert.equal(body.id, sent.id);
        assert.ok(["uploaded", "ready"].includes(body.state), body.state);
      }
      assert.equal((await getUpload(h.context().db, sent.id))!.state, "ready");
      const completions = await listAudit(h.context().db, { subject: sent.id, action: "upload.complete" });
      assert.equal(completions.length, 1, "one completion recorded");
    });

    it("an object of another size or part count at the key is not taken for the upload", async () => {
      const data = randomBytes(11 * MiB);
      const sent = await partsSent(h, data);
      // Storage completed with the first two parts only (10 MiB, 2 parts): not what was granted.
      await completeInStorage(h, sent, sent.etags.slice(0, 2));
      const res = await complete(h, sent.id, sent.etags);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { state: string; reason: string };
      assert.equal(body.state, "rejected");
      assert.match(body.reason, /size/);
      const head = h
        .context()
        .s3.send(new HeadObjectCommand({ Bucket: h.context().target.bucket, Key: sent.key }));
      await assert.rejects(head, "the wrong object is removed");
    });

    it("a multipart upload storage aborted answers 409 MultipartUploadGone, not 502", async () => {
      const sent = await partsSent(h, randomBytes(6 * MiB));
      await h.context().s3.send(
        new AbortMultipartUploadCommand({
          Bucket: h.context().target.bucket,
          Key: sent.key,
          UploadId: sent.multipartId,
        }),
      );
      const res = await complete(h, sent.id, sent.etags);
      assert.equal(res.status, 409);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "MultipartUploadGone");
    });
  });
}
