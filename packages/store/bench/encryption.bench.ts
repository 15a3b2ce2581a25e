import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuSecondsFromProc, printTable } from "@sluice/core/bench";
import { objectUrl, signHeaders } from "@sluice/sigv4";
import { benchBody } from "./request-body.ts";

// What SSE-S3 costs in the embedded store: the same PUT and GET with and
// without x-amz-server-side-encryption: AES256 (AES-256-GCM in 64 KiB chunks),
// against one store process, as MiB/s and the store's CPU seconds per GiB from
// /proc (the load-robust figure). SLUICE_BENCH_MIB sets the size (default 512).

const MiB = 1024 * 1024;
const SIZE = Number(process.env.SLUICE_BENCH_MIB ?? 512) * MiB;
const credentials = { accessKeyId: "BENCH", secretAccessKey: "bench-secret" };

/** One signed request; resolves with the bytes of the response body counted, not kept. */
function exchange(options: { url: string; method: string; headers?: Record<string, string>; size?: number }) {
  const headers = signHeaders({
    method: options.method,
    url: options.url,
    headers: { "content-length": String(options.size ?? 0), ...options.headers },
    credentials,
    region: "us-east-1",
  });
  return new Promise<number>((resolve, reject) => {
    const req = request(options.url, { method: options.method, headers }, (res) => {
      let received = 0;
      res.on("data", (chunk: Buffer) => {
        received += chunk.length;
      });
      res.on("end", () =>
        (res.statusCode ?? 500) >= 300
          ? reject(new Error(`${options.method} ${res.statusCode}`))
          : resolve(received),
      );
    });
    req.on("error", reject);
    if (options.size) benchBody(options.size).pipe(req);
    else req.end();
  });
}

async function startStoreProcess(dataDir: string): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(new URL("./serve.ts", import.meta.url)), "store", dataDir],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const endpoint = await new Promise<string>((resolve) =>
    child.stdout?.once("data", (d) => resolve(String(d).trim())),
  );
  return { child, endpoint };
}

export default async function bench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-bench-sse-"));
  const { child, endpoint } = await startStoreProcess(dir);
  const pid = child.pid as number;
  try {
    await exchange({ url: `${endpoint}/bench`, method: "PUT" });
    const measure = async (run: () => Promise<unknown>) => {
      const cpu = await cpuSecondsFromProc(pid);
      const started = process.hrtime.bigint();
      await run();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      return {
        mibPerSecond: SIZE / MiB / seconds,
        cpuPerGiB: ((await cpuSecondsFromProc(pid)) - cpu) / (SIZE / 1024 ** 3),
      };
    };
    const rows: Record<
      string,
      { put: Awaited<ReturnType<typeof measure>>; get: Awaited<ReturnType<typeof measure>> }
    > = {};
    // Interleaved twice, so a burst of load elsewhere on the machine does not land on one side only.
    for (const round of [1, 2]) {
      for (const [name, headers] of [
        ["plain", {}],
        ["AES256", { "x-amz-server-side-encryption": "AES256" }],
      ] as const) {
        const url = objectUrl({ endpoint, bucket: "bench", key: `${name}-${round}.bin` });
        const put = await measure(() => exchange({ url, method: "PUT", headers, size: SIZE }));
        const get = await measure(() => exchange({ url, method: "GET" }));
        const best = rows[name];
        rows[name] = best
          ? {
              put: put.mibPerSecond > best.put.mibPerSecond ? put : best.put,
              get: get.mibPerSecond > best.get.mibPerSecond ? get : best.get,
            }
          : { put, get };
      }
    }
    for (const op of ["put", "get"] as const) {
      printTable({
        title: `${op.toUpperCase()} of ${SIZE / MiB} MiB, with and without SSE-S3 (best of 2 interleaved rounds)`,
        unit: "MiB/s",
        baseline: "plain",
        rows: Object.entries(rows).map(([name, row]) => ({
          name,
          value: row[op].mibPerSecond,
          extra: { "store CPU-s/GiB": row[op].cpuPerGiB.toFixed(2) },
        })),
      });
    }
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}
