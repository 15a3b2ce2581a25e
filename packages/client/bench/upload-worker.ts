/**
 * One benchmark client in its own process, so its peak RSS is its own:
 * argv[2] = sdk-http | sdk-fetch | lib-storage. Settings come as JSON in
 * SLUICE_BENCH; prints one JSON line {seconds, peakRssBytes}.
 */
import { createReadStream } from "node:fs";
import { peakRssFromProc } from "@sluice/core/bench";

interface Settings {
  file: string;
  size: number;
  partSize: number;
  concurrency: number;
  broker: { url: string; token: string };
  store: { endpoint: string; accessKeyId: string; secretAccessKey: string; bucket: string };
}

const kind = process.argv[2];
const settings = JSON.parse(process.env.SLUICE_BENCH ?? "{}") as Settings;
let peak = process.memoryUsage.rss();
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 20);

const started = performance.now();
// Each client loads only its own modules, so neither pays for the other's RSS.
if (kind === "lib-storage") {
  const { S3Client } = await import("@aws-sdk/client-s3");
  const { Upload } = await import("@aws-sdk/lib-storage");
  const s3 = new S3Client({
    endpoint: settings.store.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: settings.store.accessKeyId, secretAccessKey: settings.store.secretAccessKey },
  });
  await new Upload({
    client: s3,
    params: {
      Bucket: settings.store.bucket,
      Key: `bench/${Date.now()}`,
      Body: createReadStream(settings.file),
    },
    partSize: settings.partSize,
    queueSize: settings.concurrency,
  }).done();
  s3.destroy();
} else {
  const { createClient } = await import("../src/node.ts");
  const { createFetchTransport } = await import("../src/browser/fetch-transport.ts");
  const client = createClient({
    endpoint: settings.broker.url,
    token: settings.broker.token,
    resumeStore: false,
    ...(kind === "sdk-fetch" ? { transport: createFetchTransport() } : {}),
  });
  await client.upload(settings.file, { profile: "bench", concurrency: settings.concurrency });
  client.close();
}
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage.rss(), await peakRssFromProc("self"));
process.stdout.write(`${JSON.stringify({ seconds, peakRssBytes: peak })}\n`);
