import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { grant, type Harness, sha256Hex, startHarness } from "../test/harness.ts";

const MiB = 1024 * 1024;

interface PartUrl {
  partNumber: number;
  url: string;
  headers: Record<string, string>;
}

async function signParts(h: Harness, id: string, partNumbers: number[]) {
  const res = await h.api(`/v1/uploads/${id}/parts`, { method: "POST", json: { partNumbers } });
  const body = (await res.json()) as { parts: PartUrl[] };
  return { status: res.status, parts: body.parts };
}

async function sendPart(part: PartUrl, data: Uint8Array) {
  return fetch(part.url, { method: "PUT", body: data as Uint8Array<ArrayBuffer> });
}

describe("multipart uploads", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      config: {
        profiles: {
          default: { maxSize: "1GB", method: "auto", multipartThreshold: "6MB", partSize: "5MB" },
          single: { maxSize: "10GB", method: "put" },
        },
      },
    });
  });
  after(() => h?.close());

  it("plans parts, signs them lazily with exact lengths, resumes, completes and verifies", async () => {
    const data = randomBytes(11 * MiB + 123);
    const g = await grant(h, { name: "big.bin", size: data.length, type: "application/octet-stream" });
    assert.equal(g.upload.method, "multipart");
    assert.deepEqual(g.multipart, { partSize: 5 * MiB, partCount: 3 });

    const first = await signParts(h, g.upload.id, [1, 2]);
    assert.deepEqual(
      first.parts.map((p) => p.headers["content-length"]),
      [String(5 * MiB), String(5 * MiB)],
    );
    const etags: Array<{ partNumber: number; etag: string }> = [];
    const r1 = await sendPart(first.parts[0]!, data.subarray(0, 5 * MiB));
    assert.equal(r1.status, 200);
    etags.push({ partNumber: 1, etag: r1.headers.get("etag")! });

    // Resume: the broker lists what storage already holds.
    const stored = (await (await h.api(`/v1/uploads/${g.upload.id}/parts`)).json()) as {
      parts: Array<{ partNumber: number; etag: string }>;
    };
    assert.deepEqual(
      stored.parts.map((p) => p.partNumber),
      [1],
    );

    const tooShort = await sendPart(first.parts[1]!, data.subarray(5 * MiB, 10 * MiB - 1));
    assert.equal(tooShort.status, 403, "each part URL is pinned to its exact length");
    const r2 = await sendPart(first.parts[1]!, data.subarray(5 * MiB, 10 * MiB));
    etags.push({ partNumber: 2, etag: r2.headers.get("etag")! });

    const early = await h.api(`/v1/uploads/${g.upload.id}/complete`, {
      method: "POST",
      json: { parts: etags },
    });
    assert.equal(early.status, 409, "a missing part refuses completion");

    const [last] = (await signParts(h, g.upload.id, [3])).parts;
    assert.equal(last!.headers["content-length"], String(MiB + 123));
    const r3 = await sendPart(last!, data.subarray(10 * MiB));
    etags.push({ partNumber: 3, etag: r3.headers.get("etag")! });

    const wrong = await h.api(`/v1/uploads/${g.upload.id}/complete`, {
      method: "POST",
      json: { parts: etags.map((p) => (p.partNumber === 2 ? { ...p, etag: '"deadbeef"' } : p)) },
    });
    assert.equal(wrong.status, 422, "client ETags are checked against ListParts");

    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, {
      method: "POST",
      json: { parts: etags },
    });
    assert.equal(done.status, 200);
    assert.equal(((await done.json()) as { state: string }).state, "ready");
    const dl = await h.api(`/v1/files/${g.upload.id}/download`);
    const object = await fetch(dl.headers.get("location")!);
    assert.equal(sha256Hex(new Uint8Array(await object.arrayBuffer())), sha256Hex(data));
  });

  it("checks a declared SHA-256 over the whole object (storage cannot for multipart)", async () => {
    const data = randomBytes(6 * MiB);
    for (const [declared, expected] of [
      [sha256Hex(data), "ready"],
      [sha256Hex(randomBytes(16)), "rejected"],
    ] as const) {
      const g = await grant(h, {
        name: "sum.bin",
        size: data.length,
        type: "application/octet-stream",
        sha256: declared,
      });
      const { parts } = await signParts(h, g.upload.id, [1, 2]);
      const etags = [];
      for (const part of parts) {
        const start = (part.partNumber - 1) * 5 * MiB;
        const res = await sendPart(
          part,
          data.subarray(start, start + Number(part.headers["content-length"])),
        );
        etags.push({ partNumber: part.partNumber, etag: res.headers.get("etag")! });
      }
      const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, {
        method: "POST",
        json: { parts: etags },
      });
      const file = (await done.json()) as { state: string; reason: string | null };
      assert.equal(file.state, expected);
      if (expected === "rejected") assert.match(file.reason!, /SHA-256/);
    }
  });

  it("refuses part numbers outside the plan and batches that are too big", async () => {
    const g = await grant(h, { name: "b.bin", size: 7 * MiB, type: "application/octet-stream" });
    assert.equal((await signParts(h, g.upload.id, [3])).status, 400);
    assert.equal((await signParts(h, g.upload.id, [0])).status, 400);
    const many = await h.api(`/v1/uploads/${g.upload.id}/parts`, {
      method: "POST",
      json: { partNumbers: Array.from({ length: 1001 }, (_, i) => i + 1) },
    });
    assert.equal(many.status, 400);
  });

  it("aborting removes the multipart upload from storage", async () => {
    const g = await grant(h, { name: "c.bin", size: 7 * MiB, type: "application/octet-stream" });
    const [part] = (await signParts(h, g.upload.id, [1])).parts;
    assert.equal((await sendPart(part!, randomBytes(5 * MiB))).status, 200);
    const res = await h.api(`/v1/uploads/${g.upload.id}`, { method: "DELETE" });
    assert.equal(((await res.json()) as { state: string }).state, "aborted");
    assert.equal((await signParts(h, g.upload.id, [2])).status, 409);
    assert.notEqual((await sendPart(part!, randomBytes(5 * MiB))).status, 200, "the storage upload is gone");
  });

  it("refuses sizes above the profile, and a single PUT above 5 GiB", async () => {
    const overProfile = await h.api("/v1/uploads", {
      method: "POST",
      json: { name: "x", size: 2 * 1024 ** 3, type: "application/octet-stream" },
    });
    assert.equal(overProfile.status, 413);
    const overPut = await h.api("/v1/uploads", {
      method: "POST",
      json: { profile: "single", name: "x", size: 6 * 1024 ** 3, type: "application/octet-stream" },
    });
    assert.equal(overPut.status, 413);
    assert.match(((await overPut.json()) as { error: { message: string } }).error.message, /5 GiB/);
  });
});
