// The post-upload pipeline (needs Debian's clamd; skipped without it):
// 1. scan throughput through a real clamd (tiny signature database, so the
//    figure is clamd's streaming floor): from memory over TCP (baseline) and
//    the unix socket, and from the embedded store as the scan step reads it;
//    CPU of clamd per GiB from /proc;
// 2. the cost per file of each step (checksum, sniff, scan, strip,
//    derivatives) on 1 MiB JPEGs, one step at a time, from the checks' ms;
// 3. grant p99 of the broker (its own process, 20 pipeline slots; the store
//    in a third) idle and while 20 scans of 48 MiB run in it, with clamd at
//    normal priority and at nice 19 (clamd shares these 2 cores with the broker).
// The machine is shared: prefer the CPU figures and the ratios.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { cpuSecondsFromProc, printTable } from "@sluice/core/bench";
import { type ClamdServer, clamdTier, eicarSignature, startClamd } from "@sluice/core/testing";
import { startStore } from "@sluice/store";
import pino from "pino";
import sharp from "sharp";
import { signToken } from "../src/auth/jwt.ts";
import { parseConfig } from "../src/config/load.ts";
import { startBroker } from "../src/server.ts";
import { ensureBucket } from "../src/storage/bucket.ts";
import { createS3Client } from "../src/storage/s3.ts";
import { storageTarget } from "../src/storage/target.ts";
import { type ClamdAddress, clamdScan } from "../src/verification/clamd.ts";
import { load, startContender } from "./load.ts";

const MiB = 1024 * 1024;
const SECRET = "bench-secret-bench-secret-bench-secret-0123";

/** `mib` MiB with a random start (clamd caches verdicts by content: every run differs). */
async function* blocks(mib: number): AsyncGenerator<Uint8Array> {
  const block = randomBytes(MiB);
  yield randomBytes(16);
  for (let i = 0; i < mib; i++) yield i === mib - 1 ? block.subarray(16) : block;
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

async function throughput(clamd: ClamdServer, run: () => Promise<void>, mib: number) {
  const cpu = await cpuSecondsFromProc(clamd.pid()!);
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  const clamdCpu = (await cpuSecondsFromProc(clamd.pid()!)) - cpu;
  return {
    value: mib / seconds,
    extra: { "clamd CPU s/GiB": ((clamdCpu * 1024) / mib).toFixed(2), time: `${seconds.toFixed(2)} s` },
  };
}

async function scanThroughput(clamd: ClamdServer, dir: string): Promise<void> {
  const tcp: ClamdAddress = { host: clamd.host, port: clamd.port };
  const mib = 256;
  const fromMemory = (address: ClamdAddress) => async () => {
    const verdict = await clamdScan({ address, body: blocks(mib), timeoutMs: 60_000 });
    if (verdict.result !== "clean") throw new Error(`unexpected ${verdict.result}`);
  };
  const credentials = { accessKeyId: "AKBENCH", secretAccessKey: randomBytes(20).toString("hex") };
  const store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
  const config = parseConfig({
    dataDir: join(dir, "s3"),
    storage: { endpoint: store.endpoint, ...credentials },
  });
  const s3 = createS3Client(storageTarget(config));
  try {
    await ensureBucket(s3, "sluice");
    const body = await collect(blocks(mib));
    await s3.send(
      new PutObjectCommand({ Bucket: "sluice", Key: "big.bin", Body: body, ContentLength: body.length }),
    );
    const fromStore = async () => {
      const object = await s3.send(new GetObjectCommand({ Bucket: "sluice", Key: "big.bin" }));
      await clamdScan({ address: tcp, body: object.Body as Readable, timeoutMs: 60_000 });
    };
    await fromMemory(tcp)(); // warm-up
    const rows = [
      { name: "memory → clamd (TCP)", ...(await throughput(clamd, fromMemory(tcp), mib)) },
      {
        name: "memory → clamd (unix socket)",
        ...(await throughput(clamd, fromMemory({ socket: clamd.socket }), mib)),
      },
      { name: "embedded store GET → clamd (TCP)", ...(await throughput(clamd, fromStore, mib)) },
    ];
    printTable({
      title: `clamd INSTREAM, ${mib} MiB per scan (one signature: clamd's streaming floor)`,
      unit: "MiB/s",
      baseline: "memory → clamd (TCP)",
      rows,
    });
  } finally {
    s3.destroy();
    await store.close();
  }
}

/** 1 MiB-ish JPEG of noise (photos do not compress), 1024×768. */
async function photo(): Promise<Buffer> {
  const raw = randomBytes(1024 * 768 * 3);
  return sharp(raw, { raw: { width: 1024, height: 768, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

async function stepCosts(clamd: ClamdServer, dir: string): Promise<void> {
  const credentials = { accessKeyId: "AKBENCH", secretAccessKey: randomBytes(20).toString("hex") };
  const store = await startStore({ dataDir: join(dir, "store2"), port: 0, credentials: [credentials] });
  const config = parseConfig({
    dataDir: join(dir, "broker2"),
    server: { port: 0 },
    // Without storage-side checksums the broker digests the object itself: the checksum step runs.
    storage: { endpoint: store.endpoint, ...credentials, capabilities: { checksums: false } },
    auth: { jwt: { secret: SECRET } },
    log: { level: "silent" },
    scanning: { clamd: { host: clamd.host, port: clamd.port } },
    jobs: { concurrency: 1 },
    profiles: {
      photo: { types: ["image/jpeg"], scan: true, stripMetadata: true, derivatives: ["thumb-256"] },
    },
  });
  const broker = await startBroker(config, { logger: pino({ level: "silent" }), sweeper: false });
  const token = await signToken({ secret: SECRET, tenant: "bench", user: "u", jwt: config.auth.jwt });
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${broker.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    });
  const files = 20;
  const ms = new Map<string, number[]>();
  let bytes = 0;
  try {
    for (let i = 0; i < files; i++) {
      const data = await photo();
      bytes += data.length;
      const sha256 = createHash("sha256").update(data).digest("hex");
      const body = JSON.stringify({
        profile: "photo",
        name: `p${i}.jpg`,
        size: data.length,
        type: "image/jpeg",
        sha256,
      });
      const g = (await (await api("/v1/uploads", { method: "POST", body })).json()) as {
        upload: { id: string };
        put: { url: string; headers: Record<string, string> };
      };
      const headers = { ...g.put.headers };
      delete headers["content-length"];
      const put = await fetch(g.put.url, { method: "PUT", headers, body: data as Uint8Array<ArrayBuffer> });
      if (put.status !== 200) throw new Error(`PUT ${put.status}: ${await put.text()}`);
      const done = await api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST", body: "{}" });
      if (done.status !== 200) throw new Error(`complete ${done.status}: ${await done.text()}`);
      let file: { state: string; checks: Array<{ step: string; ms: number | null }> };
      do {
        await new Promise((r) => setTimeout(r, 20));
        file = await (await api(`/v1/files/${g.upload.id}`)).json();
      } while (file.state === "uploaded");
      if (file.state !== "ready") throw new Error(`file ${i} is ${file.state}`);
      for (const check of file.checks)
        if (check.ms !== null) ms.set(check.step, [...(ms.get(check.step) ?? []), check.ms]);
    }
  } finally {
    await broker.close();
    await store.close();
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  printTable({
    title: `cost per file of each step: ${files} JPEGs 1024×768, ${(bytes / files / MiB).toFixed(2)} MiB each, one step at a time (median wall ms)`,
    unit: "ms",
    baseline: "sniff",
    lowerIsBetter: true,
    rows: [...ms].map(([name, values]) => ({
      name,
      value: median(values),
      extra: { max: `${Math.max(...values)} ms` },
    })),
  });
}

/**
 * The embedded store in a child process (the store bench's serve.ts, its
 * credentials fixed there); its endpoint read from its first line of output.
 * A script rather than `node -e`: the store's MD5 worker thread inherits the
 * parent's execArgv, which under -e holds the evaluated code.
 */
async function storeProcess(dataDir: string) {
  const script = fileURLToPath(new URL("../../store/bench/serve.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script, "store", dataDir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [line] = (await once(child.stdout!, "data")) as [Buffer];
  return {
    endpoint: line.toString().trim(),
    credentials: { accessKeyId: "BENCH", secretAccessKey: "bench-secret" },
    close: async () => {
      child.kill();
      await once(child, "exit");
    },
  };
}

async function grantsDuringScans(clamd: ClamdServer, dir: string): Promise<void> {
  // The store in a process of its own too: serving the 20 scans' reads must not slow the load generator.
  const store = await storeProcess(join(dir, "store3"));
  const { credentials } = store;
  const contender = await startContender({
    mode: "broker",
    dataDir: join(dir, "broker3"),
    storage: { endpoint: store.endpoint, ...credentials },
    jwtSecret: SECRET,
    worker: true,
    config: {
      log: { level: "warn" },
      scanning: { clamd: { host: clamd.host, port: clamd.port }, maxSize: "64MB" },
      jobs: { concurrency: 20 },
      profiles: { default: { method: "put", scan: true } },
    },
  });
  const { jwt } = parseConfig({ auth: { jwt: { secret: SECRET } } }).auth;
  const token = await signToken({ secret: SECRET, tenant: "bench", user: "u", jwt });
  const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
  const grantBody = JSON.stringify({ name: "report.pdf", size: 1_048_576, type: "application/pdf" });
  const request = { url: `${contender.url}/v1/uploads`, body: grantBody, headers };
  const scans = 20;
  const size = 48 * MiB;
  const stateOf = async (id: string) =>
    ((await (await fetch(`${contender.url}/v1/files/${id}`, { headers })).json()) as { state: string }).state;
  /** Uploads `scans` files, completes them all at once and loads grants while they are scanned. */
  async function duringScans(clamdNice: number) {
    setPriority(clamd.pid()!, clamdNice);
    const ids: string[] = [];
    for (let i = 0; i < scans; i++) {
      const body = JSON.stringify({ name: `s${i}.bin`, size, type: "application/octet-stream" });
      const g = (await (await fetch(request.url, { method: "POST", headers, body })).json()) as {
        upload: { id: string };
        put: { url: string; headers: Record<string, string> };
      };
      const put = { ...g.put.headers };
      delete put["content-length"];
      const data = await collect(blocks(48));
      await fetch(g.put.url, { method: "PUT", headers: put, body: data as Uint8Array<ArrayBuffer> });
      ids.push(g.upload.id);
    }
    const cpuBefore = await cpuSecondsFromProc(clamd.pid()!);
    const started = performance.now();
    const completions = ids.map(async (id) => {
      const res = await fetch(`${contender.url}/v1/uploads/${id}/complete`, {
        method: "POST",
        headers,
        body: "{}",
      });
      if (res.status !== 200) throw new Error(`complete ${res.status}: ${await res.text()}`);
    });
    const busy = await load([contender.child.pid!], request);
    await Promise.all(completions);
    const stillScanning = (await Promise.all(ids.map(stateOf))).filter((s) => s === "uploaded").length;
    for (let pending = stillScanning; pending > 0; ) {
      await new Promise((r) => setTimeout(r, 100));
      pending = (await Promise.all(ids.map(stateOf))).filter((s) => s === "uploaded").length;
    }
    const seconds = (performance.now() - started) / 1000;
    const clamdCpu = (await cpuSecondsFromProc(clamd.pid()!)) - cpuBefore;
    setPriority(clamd.pid()!, 0);
    return {
      name: `during ${scans} scans, clamd nice ${clamdNice}`,
      value: busy.p99,
      extra: {
        "grants/s": busy.perSecond.toFixed(0),
        "broker CPU µs/grant": busy.cpuMicros.toFixed(0),
        "still scanning at the end": String(stillScanning),
        "scans MiB/s": ((scans * 48) / seconds).toFixed(0),
        "clamd CPU s": clamdCpu.toFixed(1),
      },
    };
  }
  try {
    const idle = await load([contender.child.pid!], request);
    const rows = [await duringScans(0), await duringScans(19)];
    printTable({
      title: `grant p99 (broker in its own process, 50 clients) idle and during ${scans} scans of 48 MiB (jobs.concurrency 20), clamd at normal priority and niced`,
      unit: "p99 ms",
      baseline: "idle",
      lowerIsBetter: true,
      rows: [
        {
          name: "idle",
          value: idle.p99,
          extra: { "grants/s": idle.perSecond.toFixed(0), "broker CPU µs/grant": idle.cpuMicros.toFixed(0) },
        },
        ...rows,
      ],
    });
  } finally {
    await contender.stop();
    await store.close();
  }
}

export default async function pipelineBench(): Promise<void> {
  const only = process.env.SLUICE_BENCH_PIPELINE;
  const tier = clamdTier();
  if (!tier.available) {
    console.log(`(skipped: ${tier.reason})`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-pipeline-"));
  const clamd = await startClamd({
    binary: tier.value,
    streamMaxLength: "512M",
    signatures: { "eicar.ndb": eicarSignature() },
  });
  try {
    if (!only || only === "scan") await scanThroughput(clamd, dir);
    if (!only || only === "steps") await stepCosts(clamd, dir);
    if (!only || only === "grants") await grantsDuringScans(clamd, dir);
  } finally {
    await clamd.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
