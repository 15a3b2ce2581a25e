// Thumbnails per second and peak RSS for a 24-megapixel JPEG: the broker's
// derivatives job (S3 GET streamed to a temp file, sharp, PUT, DB row) against
// sharp run directly on a local file with the same settings, plus sharp fed
// the S3 body as a stream (which sharp collects into one Buffer). Each
// candidate runs in its own process so its peak RSS is its own.
import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { printTable } from "@sluice/core/bench";
import { startStore } from "@sluice/store";
import sharp from "sharp";
import type { DeriveBenchSettings } from "./derivatives-worker.ts";

const MiB = 1024 * 1024;
const ITERATIONS = Number(process.env.SLUICE_BENCH_ITERATIONS ?? 10);

/** A 6000×4000 JPEG with photo-like detail (smooth noise), about as large as a camera's. */
async function writePhoto(file: string): Promise<void> {
  const noise = await sharp({
    create: {
      width: 600,
      height: 400,
      channels: 3,
      background: "#808080",
      noise: { type: "gaussian", mean: 128, sigma: 60 },
    },
  })
    .png()
    .toBuffer();
  await sharp(noise).resize(6000, 4000, { kernel: "cubic" }).jpeg({ quality: 90 }).toFile(file);
}

export default async function bench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-bench-derive-"));
  const credentials = { accessKeyId: "AKBENCH", secretAccessKey: randomBytes(20).toString("hex") };
  const store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
  try {
    const file = join(dir, "photo.jpg");
    await writePhoto(file);
    const bucket = "sluice";
    const key = `bench/bench/${randomUUID()}/incoming/photo.jpg`;
    const s3 = new S3Client({
      endpoint: store.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials,
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: await readFile(file),
        ContentType: "image/jpeg",
      }),
    );
    s3.destroy();
    const size = (await stat(file)).size;

    const settings: DeriveBenchSettings = {
      file,
      key,
      size,
      iterations: ITERATIONS,
      dataDir: join(dir, "broker"),
      store: { endpoint: store.endpoint, ...credentials, bucket },
    };
    const candidates = [
      ["sharp, local file", "sharp-file"],
      ["broker derive job (GET → temp file → sharp → PUT + row)", "broker-job"],
      ["sharp, S3 body piped in as a stream", "sharp-stream"],
    ] as const;
    const rows = [];
    for (const [name, mode] of candidates) {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", fileURLToPath(new URL("./derivatives-worker.ts", import.meta.url)), mode],
        { env: { ...process.env, SLUICE_BENCH: JSON.stringify(settings) }, maxBuffer: 1 << 20 },
      );
      const result = JSON.parse(stdout.trim().split("\n").pop()!) as {
        perSecond: number;
        peakRssBytes: number;
      };
      rows.push({
        name,
        value: result.perSecond,
        extra: { "peak RSS": `${Math.round(result.peakRssBytes / MiB)} MiB` },
      });
    }
    printTable({
      title: `thumb-256 (webp 256×256 cover) of a 6000×4000 JPEG of ${(size / MiB).toFixed(1)} MiB, ${ITERATIONS} in a row`,
      unit: "thumbnails/s",
      baseline: "sharp, local file",
      rows,
    });
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
