import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { cpuSecondsFromProc, peakRssFromProc, printTable } from "@sluice/core/bench";
import { objectUrl, signHeaders } from "@sluice/sigv4";
import { build } from "esbuild";
import { benchBody } from "./request-body.ts";

// 1 GiB PUT and 1 GiB multipart (16 MiB parts, 4 at a time) against the
// embedded store, next to a plain Node server streaming the body to a file on
// the same disk with the same durability (temp file, fdatasync, rename, dir
// fsync); each server's CPU time per GiB from /proc; the store's peak RSS; the time CompleteMultipartUpload takes.
// SLUICE_BENCH_MIB changes the size (default 1024). The store's idle RSS and
// its peak RSS during the PUT are reported apart (a fresh store process for
// the PUT). SLUICE_BENCH_BIG=1 adds a 5 GiB PUT (needs 5 GiB of free disk).
// The PUT is measured twice: with the store run through tsx, as `sluice` runs
// it today, and bundled once by esbuild and run by plain node, which shows
// what the tsx loader (its own thread and heap) costs in RSS.

const MiB = 1024 * 1024;
const BASELINE = "node:http, durable (fdatasync, rename, dir fsync)";
const SIZE = Number(process.env.SLUICE_BENCH_MIB ?? 1024) * MiB;
const PART = 16 * MiB;
const credentials = { accessKeyId: "BENCH", secretAccessKey: "bench-secret" };

function send(options: {
  url: string;
  method: string;
  size?: number;
  text?: string;
  signed: boolean;
}): Promise<string> {
  const length = options.size ?? Buffer.byteLength(options.text ?? "");
  const headers: Record<string, string> = options.signed
    ? signHeaders({
        method: options.method,
        url: options.url,
        headers: { "content-length": String(length) },
        credentials,
        region: "us-east-1",
      })
    : { "content-length": String(length) };
  return new Promise((resolve, reject) => {
    const req = request(options.url, { method: options.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        if ((res.statusCode ?? 500) >= 300) reject(new Error(`${options.method} ${res.statusCode} ${text}`));
        else resolve(`${res.headers.etag ?? ""}\n${text}`);
      });
    });
    req.on("error", reject);
    if (options.text !== undefined) req.end(options.text);
    else benchBody(length).pipe(req);
  });
}

/** serve.ts transpiled and bundled once (our packages inlined, npm dependencies left external). */
async function bundleServe(): Promise<string> {
  // Under node_modules so that node resolves the external dependencies from there.
  const outfile = fileURLToPath(new URL("../node_modules/.cache/sluice-bench/serve.mjs", import.meta.url));
  await build({
    entryPoints: [fileURLToPath(new URL("./serve.ts", import.meta.url))],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile,
    conditions: ["sluice-source"],
    external: ["better-sqlite3", "busboy", "fast-xml-parser", "@aws-crypto/*"],
    logLevel: "warning",
  });
  return outfile;
}

async function spawnServer(
  mode: "store" | "plain",
  dataDir: string,
  bundle?: string,
): Promise<{ child: ChildProcess; endpoint: string }> {
  const script = fileURLToPath(new URL("./serve.ts", import.meta.url));
  const args = bundle ? [bundle, mode, dataDir] : ["--import", "tsx", script, mode, dataDir];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const endpoint = await new Promise<string>((resolve) =>
    child.stdout?.once("data", (d: Buffer) => resolve(d.toString().trim())),
  );
  return { child, endpoint };
}

async function peakRss(child: ChildProcess): Promise<number> {
  return (await peakRssFromProc(child.pid!)) / MiB;
}

async function currentRss(child: ChildProcess): Promise<number> {
  const status = await readFile(`/proc/${child.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** A PUT of `size` bytes into a fresh store process: its throughput, idle RSS and peak RSS. */
async function measuredPut(dir: string, size: number, bundle?: string) {
  const store = await spawnServer("store", dir, bundle);
  try {
    await send({ url: `${store.endpoint}/bench`, method: "PUT", text: "", signed: true });
    await sleep(500);
    const idle = await currentRss(store.child);
    const url = objectUrl({ endpoint: store.endpoint, bucket: "bench", key: "put.bin" });
    const put = await timed(() => send({ url, method: "PUT", size, signed: true }), store.child);
    return { seconds: put.seconds, cpu: put.cpu, idle, peak: await peakRss(store.child) };
  } finally {
    store.child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Wall time of `fn`, and the CPU time `server` spent meanwhile (from /proc). */
async function timed<T>(
  fn: () => Promise<T>,
  server?: ChildProcess,
): Promise<{ seconds: number; cpu: number; value: T }> {
  const cpu = server ? await cpuSecondsFromProc(server.pid!) : 0;
  const start = performance.now();
  const value = await fn();
  const seconds = (performance.now() - start) / 1000;
  return { seconds, cpu: server ? (await cpuSecondsFromProc(server.pid!)) - cpu : 0, value };
}

async function parallel(count: number, limit: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

export default async function bench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-bench-"));
  const perSecond = (bytes: number, seconds: number) => bytes / MiB / seconds;
  try {
    const plain = await spawnServer("plain", dir);
    const plainPut = await timed(
      () => send({ url: `${plain.endpoint}/x`, method: "PUT", size: SIZE, signed: false }),
      plain.child,
    );
    const plainParts = await timed(
      () =>
        parallel(Math.ceil(SIZE / PART), 4, async (i) => {
          await send({
            url: `${plain.endpoint}/p${i}`,
            method: "PUT",
            size: Math.min(PART, SIZE - i * PART),
            signed: false,
          });
        }),
      plain.child,
    );
    plain.child.kill();

    const put = await measuredPut(join(dir, "put"), SIZE);
    const bundled = await measuredPut(join(dir, "put-bundled"), SIZE, await bundleServe());
    const big =
      process.env.SLUICE_BENCH_BIG === "1" ? await measuredPut(join(dir, "big"), 5 * 1024 * MiB) : undefined;
    const store = await spawnServer("store", join(dir, "store"));
    const url = (key: string, query = "") =>
      `${objectUrl({ endpoint: store.endpoint, bucket: "bench", key })}${query}`;
    await send({ url: `${store.endpoint}/bench`, method: "PUT", text: "", signed: true });
    const created = await send({ url: url("mp.bin", "?uploads"), method: "POST", text: "", signed: true });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created)?.[1] as string;
    const etags: string[] = [];
    const parts = await timed(
      () =>
        parallel(Math.ceil(SIZE / PART), 4, async (i) => {
          const size = Math.min(PART, SIZE - i * PART);
          const result = await send({
            url: url("mp.bin", `?partNumber=${i + 1}&uploadId=${encodeURIComponent(uploadId)}`),
            method: "PUT",
            size,
            signed: true,
          });
          etags[i] = result.split("\n")[0] as string;
        }),
      store.child,
    );
    const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
    const complete = await timed(() =>
      send({
        url: url("mp.bin", `?uploadId=${encodeURIComponent(uploadId)}`),
        method: "POST",
        text: xml,
        signed: true,
      }),
    );
    const multipartPeak = await peakRss(store.child);
    store.child.kill();

    const GiB = SIZE / (1024 * MiB);
    const cpu = (run: { cpu: number }) => ({ "CPU-s/GiB": (run.cpu / GiB).toFixed(2) });
    const rss = (run: { idle: number; peak: number; cpu: number }) => ({
      ...cpu(run),
      "idle RSS": `${run.idle.toFixed(0)} MiB`,
      "peak RSS": `${run.peak.toFixed(0)} MiB`,
    });
    printTable({
      title: `PUT of ${SIZE / MiB} MiB (SigV4, UNSIGNED-PAYLOAD), each server in its own process`,
      unit: "MiB/s",
      baseline: BASELINE,
      rows: [
        { name: BASELINE, value: perSecond(SIZE, plainPut.seconds), extra: cpu(plainPut) },
        { name: "store under tsx", value: perSecond(SIZE, put.seconds), extra: rss(put) },
        {
          name: "store bundled (as `sluice` runs it)",
          value: perSecond(SIZE, bundled.seconds),
          extra: rss(bundled),
        },
        ...(big
          ? [{ name: "store under tsx, 5 GiB", value: perSecond(5120 * MiB, big.seconds), extra: rss(big) }]
          : []),
      ],
    });
    printTable({
      title: `Multipart: ${Math.ceil(SIZE / PART)} parts of 16 MiB, 4 at a time`,
      unit: "MiB/s",
      baseline: BASELINE,
      rows: [
        { name: BASELINE, value: perSecond(SIZE, plainParts.seconds), extra: cpu(plainParts) },
        {
          name: "store under tsx",
          value: perSecond(SIZE, parts.seconds),
          extra: {
            ...cpu(parts),
            complete: `${(complete.seconds * 1000).toFixed(0)} ms`,
            "peak RSS": `${multipartPeak.toFixed(0)} MiB`,
          },
        },
      ],
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
