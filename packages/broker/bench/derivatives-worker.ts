// One candidate of derivatives.bench.ts in its own process (argv[2]: sharp-file
// | broker-job | sharp-stream); prints one JSON line {perSecond, peakRssBytes}.
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { peakRssFromProc } from "@sluice/core/bench";
import pino from "pino";
import { createBroker } from "../src/app.ts";
import { parseConfig } from "../src/config/load.ts";
import { insertUpload } from "../src/db/uploads.ts";
import { uploadRow } from "../src/test/databases.ts";
import { makeDerivatives } from "../src/verification/derivatives.ts";
import { renderDerivatives } from "../src/verification/images.ts";

export interface DeriveBenchSettings {
  file: string;
  key: string;
  size: number;
  iterations: number;
  dataDir: string;
  store: { endpoint: string; accessKeyId: string; secretAccessKey: string; bucket: string };
}

const settings = JSON.parse(process.env.SLUICE_BENCH ?? "{}") as DeriveBenchSettings;
const config = parseConfig({
  dataDir: settings.dataDir,
  storage: {
    endpoint: settings.store.endpoint,
    accessKeyId: settings.store.accessKeyId,
    secretAccessKey: settings.store.secretAccessKey,
    bucket: settings.store.bucket,
  },
  auth: { jwt: { secret: randomBytes(24).toString("hex") } },
  log: { level: "silent" },
  profiles: { bench: { maxSize: "1GB", types: ["image/jpeg"], derivatives: ["thumb-256"] } },
});
const presets: Parameters<typeof renderDerivatives>[0]["presets"] = [
  ["thumb-256", config.derivatives["thumb-256"]!],
];

async function candidate(
  mode: string | undefined,
): Promise<{ run(): Promise<void>; close(): Promise<void> }> {
  if (mode === "sharp-file") {
    return {
      async run() {
        const result = await renderDerivatives({
          file: settings.file,
          presets,
          maxPixels: config.images.maxPixels,
        });
        if (!result.ok) throw new Error(result.reason);
      },
      async close() {},
    };
  }
  if (mode === "sharp-stream") {
    const { default: sharp } = await import("sharp");
    sharp.cache(false);
    const { store } = settings;
    const s3 = new S3Client({
      endpoint: store.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: store,
    });
    return {
      async run() {
        const object = await s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: settings.key }));
        const input = sharp({ limitInputPixels: config.images.maxPixels });
        (object.Body as Readable).pipe(input);
        await input.resize(256, 256, { fit: "cover" }).webp({ quality: 80 }).toBuffer();
      },
      async close() {
        s3.destroy();
      },
    };
  }
  if (mode === "broker-job") {
    const broker = await createBroker(config, {
      logger: pino({ level: "silent" }),
      worker: false,
      sweeper: false,
    });
    const now = Date.now();
    // The object was written where a grant writes it: the quarantine key the job reads.
    const row = uploadRow({
      id: settings.key.split("/")[2]!,
      tenant: "bench",
      user_id: "bench",
      profile: "bench",
      name: "photo.jpg",
      type: "image/jpeg",
      size: settings.size,
      key: settings.key.replace("/incoming/", "/"),
      incoming_key: settings.key,
      state: "uploaded",
      detected_type: "image/jpeg",
      expires_at: now,
      completed_at: now,
    });
    await insertUpload(broker.context.db, row);
    return {
      async run() {
        const reason = await makeDerivatives(broker.context, row);
        if (reason) throw new Error(reason);
      },
      close: () => broker.close(),
    };
  }
  throw new Error(`unknown candidate ${mode}`);
}

const subject = await candidate(process.argv[2]);
await subject.run(); // warm-up: loads libvips
const started = performance.now();
for (let i = 0; i < settings.iterations; i++) await subject.run();
const seconds = (performance.now() - started) / 1000;
await subject.close();
console.log(
  JSON.stringify({ perSecond: settings.iterations / seconds, peakRssBytes: await peakRssFromProc("self") }),
);
