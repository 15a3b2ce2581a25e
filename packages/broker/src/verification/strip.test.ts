import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { binaryTier } from "@sluice/core/testing";
import sharp from "sharp";
import { listAudit } from "../db/audit.ts";
import { grant, type Harness, putBytes, sha256Hex, startHarness } from "../test/harness.ts";

const exiftool = binaryTier("/usr/bin/exiftool", "libimage-exiftool-perl");

interface FileJson {
  id: string;
  state: string;
  reason: string | null;
  size: number;
  sha256: string | null;
  checks: Array<{ step: string; status: string; detail: string | null }>;
}

/** Every tag exiftool reads from `data`, group-prefixed (EXIF:GPSLatitude, XMP:Creator, File:Comment…). */
function tags(dir: string, data: Buffer): Record<string, unknown> {
  const file = join(dir, `probe-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, data);
  const [found] = JSON.parse(
    execFileSync("/usr/bin/exiftool", ["-j", "-G", "-n", "-a", file], { encoding: "utf8" }),
  );
  return found;
}

/** Writes tags into an image file with exiftool, like a phone camera would. */
function tagged(dir: string, data: Buffer, ext: string, args: string[]): Buffer {
  const file = join(dir, `source.${ext}`);
  writeFileSync(file, data);
  execFileSync("/usr/bin/exiftool", ["-q", "-overwrite_original", ...args, file]);
  return readFileSync(file);
}

const GPS = ["-GPSLatitude=48.8584", "-GPSLatitudeRef=N", "-GPSLongitude=2.2945", "-GPSLongitudeRef=E"];
const metadataKeys = (found: Record<string, unknown>) =>
  Object.keys(found).filter((k) =>
    /^(EXIF|XMP|IPTC|GPS|MakerNotes|Photoshop)|GPS|Comment|Artist|Creator/.test(k),
  );

describe("stripMetadata: images served without EXIF/XMP/IPTC", {
  skip: exiftool.available ? false : exiftool.reason,
}, () => {
  let h: Harness;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sluice-strip-test-"));
    h = await startHarness({
      config: {
        images: { maxPixels: 10_000 },
        profiles: {
          photo: { types: ["image/*", "text/plain"], stripMetadata: true, derivatives: ["thumb-256"] },
        },
      },
    });
  });
  after(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function upload(file: { name: string; type: string; data: Buffer }): Promise<FileJson> {
    const g = await grant(h, { profile: "photo", name: file.name, size: file.data.length, type: file.type });
    assert.equal((await putBytes(g.put, file.data)).status, 200);
    await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const got = (await (await h.api(`/v1/files/${g.upload.id}`)).json()) as FileJson;
      if (got.state !== "uploaded" || Date.now() > deadline) return got;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function served(id: string): Promise<Buffer> {
    const res = await h.api(`/v1/files/${id}/download`);
    assert.equal(res.status, 302);
    return Buffer.from(await (await fetch(res.headers.get("location")!)).arrayBuffer());
  }

  it("a JPEG with GPS, XMP and IPTC tags is served without them, turned by its EXIF orientation", async () => {
    // 64×32: red on the left, blue on the right; orientation 6 says "turn 90° clockwise to view".
    const pixels = await sharp({ create: { width: 64, height: 32, channels: 3, background: "#0000ff" } })
      .composite([
        {
          input: await sharp({ create: { width: 32, height: 32, channels: 3, background: "#ff0000" } })
            .png()
            .toBuffer(),
          left: 0,
          top: 0,
        },
      ])
      .jpeg({ quality: 95 })
      .toBuffer();
    const original = tagged(dir, pixels, "jpg", [
      ...GPS,
      "-Orientation#=6",
      "-Artist=Alice Example",
      "-XMP:Creator=Alice Example",
      "-IPTC:Keywords=home",
    ]);
    const before = tags(dir, original);
    assert.equal(before["EXIF:GPSLatitude"], 48.8584, "the upload carries GPS");
    assert.equal(before["EXIF:Orientation"], 6);

    const file = await upload({ name: "holiday.jpg", type: "image/jpeg", data: original });
    assert.equal(file.state, "ready", file.reason ?? "");
    const bytes = await served(file.id);
    const after = tags(dir, bytes);
    assert.deepEqual(metadataKeys(after), [], `left: ${JSON.stringify(after)}`);
    assert.equal(after["EXIF:Orientation"], undefined);
    // Orientation applied to the pixels: now 32×64, red on top, blue below.
    const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [32, 64]);
    const at = (x: number, y: number) => [
      ...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3),
    ];
    assert.ok(at(16, 8)[0]! > 200 && at(16, 8)[2]! < 60, `top is red: ${at(16, 8)}`);
    assert.ok(at(16, 56)[2]! > 200 && at(16, 56)[0]! < 60, `bottom is blue: ${at(16, 56)}`);

    // The file record describes the served bytes; the check and the audit log say what changed.
    assert.equal(file.size, bytes.length);
    assert.equal(file.sha256, sha256Hex(bytes));
    assert.notEqual(file.size, original.length);
    const strip = file.checks.find((c) => c.step === "strip")!;
    assert.equal(strip.status, "passed");
    assert.match(
      strip.detail!,
      /^removed EXIF \(GPS\), XMP, IPTC, orientation 6 applied; re-encoded \d+ → \d+ bytes, sha256 [0-9a-f]{64}$/,
    );
    assert.deepEqual(
      file.checks.map((c) => c.step),
      ["size", "sniff", "strip", "derivatives", "promote"],
    );
    const [entry] = await listAudit(h.context().db, { subject: file.id, action: "upload.strip" });
    const detail = JSON.parse(entry!.detail!);
    assert.deepEqual(detail.before, { size: original.length, sha256: null });
    assert.deepEqual(detail.after, { size: bytes.length, sha256: sha256Hex(bytes) });
    // The thumbnail is made from the cleaned image.
    const thumb = await h.api(`/v1/files/${file.id}/derivatives/thumb-256`);
    const thumbBytes = Buffer.from(await (await fetch(thumb.headers.get("location")!)).arrayBuffer());
    assert.deepEqual(metadataKeys(tags(dir, thumbBytes)), []);
  });

  it("a PNG loses its EXIF GPS and XMP, its pixels unchanged (lossless)", async () => {
    const raw = await sharp({ create: { width: 40, height: 20, channels: 3, background: "#33aa55" } })
      .png()
      .toBuffer();
    const original = tagged(dir, raw, "png", [...GPS, "-XMP:Creator=Alice"]);
    assert.ok(Object.keys(tags(dir, original)).some((k) => k.includes("GPS")));
    const file = await upload({ name: "map.png", type: "image/png", data: original });
    assert.equal(file.state, "ready", file.reason ?? "");
    const bytes = await served(file.id);
    assert.deepEqual(metadataKeys(tags(dir, bytes)), []);
    assert.deepEqual(await sharp(bytes).raw().toBuffer(), await sharp(raw).raw().toBuffer());
  });

  it("an animated GIF keeps its frames and timing, loses its XMP and comment", async () => {
    const frame = (color: string) =>
      sharp({ create: { width: 16, height: 16, channels: 3, background: color } })
        .png()
        .toBuffer();
    const gif = await sharp([await frame("#ff0000"), await frame("#0000ff"), await frame("#00ff00")], {
      join: { animated: true },
    })
      .gif({ delay: [120, 80, 200], loop: 0 })
      .toBuffer();
    const original = tagged(dir, gif, "gif", ["-XMP:Creator=Alice", "-Comment=secret"]);
    const file = await upload({ name: "wave.gif", type: "image/gif", data: original });
    assert.equal(file.state, "ready", file.reason ?? "");
    const bytes = await served(file.id);
    assert.deepEqual(metadataKeys(tags(dir, bytes)), []);
    const meta = await sharp(bytes, { animated: true }).metadata();
    assert.deepEqual([meta.pages, meta.delay, meta.loop], [3, [120, 80, 200], 0]);
    assert.match(file.checks.find((c) => c.step === "strip")!.detail!, /3 frames kept/);
  });

  it("an image over images.maxPixels is rejected rather than served with its metadata", async () => {
    const big = tagged(
      dir,
      await sharp({ create: { width: 200, height: 100, channels: 3, background: "#888" } })
        .jpeg()
        .toBuffer(),
      "jpg",
      GPS,
    );
    const file = await upload({ name: "big.jpg", type: "image/jpeg", data: big });
    assert.equal(file.state, "rejected");
    assert.equal(file.reason, "image is larger than 10000 pixels");
    assert.deepEqual(
      file.checks.map((c) => `${c.step}:${c.status}`),
      ["size:passed", "sniff:passed", "strip:failed", "derivatives:cancelled", "promote:cancelled"],
    );
  });

  it("HEIC, which cannot be re-encoded here, is rejected; a text file passes untouched", async () => {
    // The start of an iPhone HEIC: enough for the sniffer to see image/heic.
    const heic = Buffer.concat([
      Buffer.from([0, 0, 0, 0x18]),
      Buffer.from("ftypheic"),
      Buffer.alloc(4),
      Buffer.from("mif1heic"),
      Buffer.alloc(64),
    ]);
    const photo = await upload({ name: "IMG_0001.HEIC", type: "image/heic", data: heic });
    assert.equal(photo.state, "rejected");
    assert.match(photo.reason!, /^metadata cannot be removed from image\/heic images/);
    const text = Buffer.from("just words\n");
    const notes = await upload({ name: "notes.txt", type: "text/plain", data: text });
    assert.equal(notes.state, "ready");
    assert.equal(notes.checks.find((c) => c.step === "strip")!.status, "skipped");
    assert.deepEqual(await served(notes.id), text);
  });
});
