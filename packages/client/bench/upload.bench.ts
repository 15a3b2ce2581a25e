/**
 * `npm run bench` part for the client: one multipart upload of the same file
 * to the same embedded store by the SDK (node:http transport, and fetch for
 * comparison) and by @aws-sdk/lib-storage Upload, same part size and
 * concurrency. Each client runs in its own process: MiB/s and its peak RSS.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { mintToken, parseConfig, startBroker } from "@sluice/broker";
import { peakRssFromProc, printTable } from "@sluice/core/bench";
import { startStore } from "@sluice/store";

const MiB = 1024 * 1024;

export interface UploadBenchRow {
  client: string;
  transport: string;
  mibPerSecond: number;
  peakRssMiB: number;
}

export async function benchUpload(
  options: { sizeMiB?: number; partSizeMiB?: number; concurrency?: number; cliSizeMiB?: number } = {},
): Promise<UploadBenchRow[]> {
  const size = (options.sizeMiB ?? 1024) * MiB;
  // The broker's default part size, so the SDK and the CLI rows match what users get.
  const partSize = (options.partSizeMiB ?? 8) * MiB;
  const concurrency = options.concurrency ?? 4;
  const dir = await mkdtemp(join(tmpdir(), "sluice-bench-"));
  const credentials = { accessKeyId: "AKBENCH", secretAccessKey: randomBytes(20).toString("hex") };
  const store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
  const config = parseConfig({
    dataDir: join(dir, "broker"),
    server: { port: 0 },
    storage: { endpoint: store.endpoint, ...credentials },
    auth: { jwt: { secret: randomBytes(24).toString("hex") } },
    log: { level: "silent" },
    profiles: { bench: { maxSize: "10GB", partSize, multipartThreshold: "5MB" } },
  });
  const broker = await startBroker(config);
  try {
    const file = join(dir, "payload.bin");
    await writePayload(file, size);
    const settings = {
      file,
      size,
      partSize,
      concurrency,
      broker: { url: broker.url, token: await mintToken(config, { tenant: "bench", user: "bench" }) },
      store: { endpoint: store.endpoint, ...credentials, bucket: config.storage.bucket },
    };
    const rows: UploadBenchRow[] = [];
    for (const [kind, client, transport] of [
      ["sdk-http", "@sluice/client", "node:http keep-alive"],
      ["sdk-fetch", "@sluice/client", "fetch (undici)"],
      ["lib-storage", "@aws-sdk/lib-storage Upload", "AWS SDK default (node:http)"],
    ] as const) {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", fileURLToPath(new URL("./upload-worker.ts", import.meta.url)), kind],
        { env: { ...process.env, SLUICE_BENCH: JSON.stringify(settings) }, maxBuffer: 1 << 20 },
      );
      const result = JSON.parse(stdout.trim().split("\n").pop()!) as {
        seconds: number;
        peakRssBytes: number;
      };
      rows.push({
        client,
        transport,
        mibPerSecond: Math.round((size / MiB / result.seconds) * 10) / 10,
        peakRssMiB: Math.round(result.peakRssBytes / MiB),
      });
    }
    // Issue 5: a 2 GiB upload through the CLI keeps its RSS under 150 MiB.
    const cliSize = (options.cliSizeMiB ?? 2048) * MiB;
    const cliFile = join(dir, "cli-payload.bin");
    await writePayload(cliFile, cliSize);
    await rm(file, { force: true });
    const cli = await runCli({
      file: cliFile,
      url: broker.url,
      token: settings.broker.token,
      home: dir,
      concurrency,
    });
    rows.push({
      client: `sluice upload (CLI, ${cliSize / MiB} MiB)`,
      transport: "node:http keep-alive",
      mibPerSecond: Math.round((cliSize / MiB / cli.seconds) * 10) / 10,
      peakRssMiB: Math.round(cli.peakRssBytes / MiB),
    });
    return rows;
  } finally {
    await broker.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function runCli(options: {
  file: string;
  url: string;
  token: string;
  home: string;
  concurrency: number;
}): Promise<{ seconds: number; peakRssBytes: number }> {
  const bin = fileURLToPath(new URL("../../cli/bin/sluice.js", import.meta.url));
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      bin,
      "upload",
      options.file,
      "--profile",
      "bench",
      "--concurrency",
      String(options.concurrency),
      "--json",
    ],
    {
      env: {
        ...process.env,
        SLUICE_URL: options.url,
        SLUICE_TOKEN: options.token,
        SLUICE_HOME: options.home,
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  let peak = 0;
  const sampler = setInterval(async () => {
    peak = Math.max(peak, await peakRssFromProc(child.pid!));
  }, 25);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`sluice upload exited with ${code}`);
  return { seconds: (performance.now() - started) / 1000, peakRssBytes: peak };
}

/** Random-looking bytes without generating 1 GiB of randomness: one random block repeated. */
async function writePayload(path: string, size: number): Promise<void> {
  const block = randomBytes(16 * MiB);
  const handle = await open(path, "w");
  try {
    for (let written = 0; written < size; written += block.length) {
      await handle.write(block, 0, Math.min(block.length, size - written));
    }
  } finally {
    await handle.close();
  }
}

/** `npm run bench`: the SDK against @aws-sdk/lib-storage Upload (the baseline), same store, part size and concurrency. */
export default async function uploadBench(): Promise<void> {
  const sizeMiB = Number(process.env.SLUICE_BENCH_MIB ?? 1024);
  const rows = (await benchUpload({ sizeMiB })).map((row) => ({
    name: `${row.client} over ${row.transport}`,
    value: row.mibPerSecond,
    extra: { "peak RSS": `${row.peakRssMiB} MiB` },
  }));
  printTable({
    title: `Multipart upload of ${sizeMiB} MiB to the embedded store (each client in its own process)`,
    unit: "MiB/s",
    baseline: rows.find((row) => row.name.startsWith("@aws-sdk/lib-storage"))!.name,
    rows,
  });
}
