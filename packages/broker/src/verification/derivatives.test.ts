import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { crc32, deflateSync } from "node:zlib";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import sharp from "sharp";
import { listAudit } from "../db/audit.ts";
import { updateCheck } from "../db/checks.ts";
import { claimJob, enqueueJob, finishJob, getJob } from "../db/jobs.ts";
import { defaultDatabaseUrl, openDatabase } from "../db/open.ts";
import { createS3Client } from "../storage/s3.ts";
import { storageTarget } from "../storage/target.ts";
import { testDatabases } from "../test/databases.ts";
import { grant, type Harness, putBytes, startHarness } from "../test/harness.ts";
import { stepJobKind } from "./pipeline.ts";

interface FileJson {
  id: string;
  state: string;
  reason: string | null;
  key: string;
  derivatives?: Array<{ name: string; type: string; size: number; width: number; height: number }>;
}

const config = {
  profiles: {
    avatar: {
      maxSize: "5MB",
      types: ["image/png", "image/jpeg", "text/plain"],
      derivatives: ["thumb-256"],
    },
  },
};

/** Grant, PUT, complete: the upload as the broker then reports it (waits up to 5 s for verification). */
async function upload(h: Harness, file: { name: string; type: string; data: Buffer }, as = "alice") {
  const g = await grant(h, { name: file.name, size: file.data.length, type: file.type }, as);
  assert.equal((await putBytes(g.put, file.data)).status, 200);
  const res = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST", as });
  return (await res.json()) as FileJson;
}

async function storedKeys(h: Harness, prefix: string): Promise<string[]> {
  const s3 = createS3Client(storageTarget(h.config));
  try {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: h.config.storage.bucket, Prefix: prefix }));
    return (page.Contents ?? []).map((o) => o.Key!);
  } finally {
    s3.destroy();
  }
}

/** Follows the derivative route's redirect to storage and returns the bytes. */
async function fetchDerivative(h: Harness, id: string, name: string, as = "alice"): Promise<Response> {
  const res = await h.api(`/v1/files/${id}/derivatives/${name}`, { as });
  if (res.status !== 302) return res;
  return fetch(res.headers.get("location")!);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A well-formed PNG whose header claims width × height RGB pixels, with only a few bytes of pixel data. */
function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.alloc(64 * 1024))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const image = (format: "png" | "jpeg") =>
  sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 200, g: 60, b: 40 } } })
    .toFormat(format)
    .toBuffer();

for (const database of testDatabases()) {
  describe(`image derivatives (${database.name})`, { skip: database.skip }, () => {
    let h: Harness;
    let databaseUrl: string;
    let drop: (() => Promise<void>) | undefined;
    before(async () => {
      const created = await database.create();
      drop = created.drop;
      databaseUrl = created.url;
      h = await startHarness({ databaseUrl, config });
    });
    after(async () => {
      await h?.close();
      await drop?.();
    });

    for (const [format, type] of [
      ["png", "image/png"],
      ["jpeg", "image/jpeg"],
    ] as const) {
      it(`a ${format.toUpperCase()} gets a 256×256 webp thumb-256, listed and downloadable`, async () => {
        const file = await upload(h, { name: `photo.${format}`, type, data: await image(format) });
        assert.equal(file.state, "ready", file.reason ?? "");
        const got = (await (await h.api(`/v1/files/${file.id}`)).json()) as FileJson;
        assert.equal(got.derivatives?.length, 1);
        const [thumb] = got.derivatives!;
        assert.equal(thumb!.name, "thumb-256");
        assert.equal(thumb!.type, "image/webp");
        assert.deepEqual([thumb!.width, thumb!.height], [256, 256]);

        const res = await fetchDerivative(h, file.id, "thumb-256");
        assert.equal(res.status, 200);
        const bytes = Buffer.from(await res.arrayBuffer());
        assert.equal(bytes.length, thumb!.size);
        const meta = await sharp(bytes).metadata();
        assert.deepEqual([meta.format, meta.width, meta.height], ["webp", 256, 256]);

        const listed = (await (await h.api("/v1/files")).json()) as { files: FileJson[] };
        assert.deepEqual(listed.files.find((f) => f.id === file.id)?.derivatives, got.derivatives);
        const json = (await (await h.api(`/v1/files/${file.id}/derivatives/thumb-256?json`)).json()) as {
          url: string;
        };
        assert.match(json.url, /~derivatives\/thumb-256\.webp\?/);

        const { db, close } = await openDatabase(databaseUrl);
        try {
          const created = await listAudit(db, { subject: file.id, action: "derivative.create" });
          assert.equal(created.length, 1);
          assert.equal(JSON.parse(created[0]!.detail!).name, "thumb-256");
        } finally {
          await close();
        }
      });
    }

    it("rejects a truncated PNG (valid magic bytes) with the reason, and removes it", async () => {
      const png = await image("png");
      const file = await upload(h, {
        name: "cut.png",
        type: "image/png",
        data: png.subarray(0, png.length - 40),
      });
      assert.equal(file.state, "rejected");
      assert.match(file.reason ?? "", /^image could not be decoded: /);
      assert.deepEqual(await storedKeys(h, file.key), []);
    });

    // 15000×15000 is under sharp's own default limit: only the configured images.maxPixels refuses it.
    for (const side of [100_000, 15_000]) {
      it(`rejects a decompression bomb (PNG header claiming ${side}×${side}) without decoding it`, async () => {
        const before = process.memoryUsage().rss;
        const data = pngBomb(side, side);
        const file = await upload(h, { name: "bomb.png", type: "image/png", data });
        assert.equal(file.state, "rejected");
        assert.equal(file.reason, "image is larger than 100000000 pixels");
        // Decoding would need gigabytes; the broker (this process) stays small.
        assert.ok(process.memoryUsage().rss - before < 256 * 1024 * 1024);
        assert.equal((await h.api("/healthz")).status, 200);
      });
    }

    it("gives other types in the profile no derivatives", async () => {
      const file = await upload(h, { name: "notes.txt", type: "text/plain", data: Buffer.from("notes\n") });
      assert.equal(file.state, "ready");
      const got = (await (await h.api(`/v1/files/${file.id}`)).json()) as FileJson;
      assert.equal(got.derivatives, undefined);
      assert.equal((await h.api(`/v1/files/${file.id}/derivatives/thumb-256`)).status, 404);
    });

    it("another user's file id, or an unknown derivative, is 404", async () => {
      const file = await upload(h, { name: "mine.png", type: "image/png", data: await image("png") });
      assert.equal(file.state, "ready");
      const res = await h.api(`/v1/files/${file.id}/derivatives/thumb-256`, { as: "mallory" });
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "NotFound");
      assert.equal(
        (await h.api(`/v1/files/${file.id}/derivatives/thumb-256`, { as: "alice", tenant: "other" })).status,
        404,
      );
      assert.equal((await h.api(`/v1/files/${file.id}/derivatives/thumb-512`)).status, 404);
    });

    it("documents the derivative route and field in /openapi.json", async () => {
      const doc = (await (await h.api("/openapi.json", { as: null })).json()) as {
        paths: Record<string, { get?: { parameters?: Array<{ name: string }> } }>;
        components: { schemas: Record<string, { properties: Record<string, unknown> }> };
      };
      const route = doc.paths["/v1/files/{id}/derivatives/{name}"]?.get;
      assert.deepEqual(route?.parameters?.map((p) => p.name).sort(), ["id", "json", "name"]);
      assert.ok(doc.components.schemas.Upload?.properties.derivatives);
      assert.deepEqual(Object.keys(doc.components.schemas.Derivative?.properties ?? {}).sort(), [
        "height",
        "name",
        "size",
        "type",
        "width",
      ]);
    });

    it("deleting the file deletes its derivatives", async () => {
      const file = await upload(h, { name: "gone.jpg", type: "image/jpeg", data: await image("jpeg") });
      assert.equal(file.state, "ready");
      assert.deepEqual(await storedKeys(h, file.key), [file.key, `${file.key}~derivatives/thumb-256.webp`]);
      assert.equal((await h.api(`/v1/files/${file.id}`, { method: "DELETE" })).status, 204);
      assert.deepEqual(await storedKeys(h, file.key), []);
      assert.equal((await h.api(`/v1/files/${file.id}/derivatives/thumb-256`)).status, 404);
    });
  });
}

describe("derivatives step across a restart", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config, broker: { worker: false } });
  });
  after(() => h?.close());

  it("a derivatives step leased by a broker that died is done after the restart", async () => {
    const file = await upload(h, { name: "photo.png", type: "image/png", data: await image("png") });
    assert.equal(file.state, "uploaded", "no worker yet");
    const { db, close } = await openDatabase(defaultDatabaseUrl(h.config.dataDir));
    let leased: Awaited<ReturnType<typeof claimJob>>;
    try {
      // The state a crash leaves: sniffing done, the derivatives step taken and never finished.
      const sniff = await db
        .selectFrom("jobs")
        .select(["id", "attempts"])
        .where("upload_id", "=", file.id)
        .executeTakeFirstOrThrow();
      await finishJob(db, sniff);
      await updateCheck(db, { uploadId: file.id, step: "sniff", patch: { status: "passed" } });
      await enqueueJob(db, { kind: stepJobKind("derivatives"), uploadId: file.id });
      leased = await claimJob(db, { now: Date.now(), leaseMs: 3000, workerId: "other" });
      assert.equal(leased?.kind, stepJobKind("derivatives"));
    } finally {
      await close();
    }

    await h.restart({ worker: true });
    const state = async () => ((await (await h.api(`/v1/files/${file.id}`)).json()) as FileJson).state;
    assert.equal(await state(), "uploaded", "the lease still holds");
    const deadline = Date.now() + 15_000;
    while ((await state()) === "uploaded" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const got = (await (await h.api(`/v1/files/${file.id}`)).json()) as FileJson;
    assert.equal(got.state, "ready");
    assert.deepEqual(
      got.derivatives?.map((d) => [d.name, d.width, d.height]),
      [["thumb-256", 256, 256]],
    );
    const reopened = await openDatabase(defaultDatabaseUrl(h.config.dataDir));
    try {
      const job = await getJob(reopened.db, leased!.id);
      assert.deepEqual([job?.state, job?.attempts], ["done", 2]);
    } finally {
      await reopened.close();
    }
  });
});
