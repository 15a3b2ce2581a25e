// Shared by the grant benchmarks: a contender in its own process (bench/serve.ts),
// loaded by autocannon from this one; CPU per request from /proc/<pid>/stat of
// the server process, the figure that holds when other work shares the machine.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { cpuSecondsFromProc } from "@sluice/core/bench";
import autocannon from "autocannon";
import type { ServeOptions } from "./serve.ts";

export const CONCURRENCY = 50;
export const DURATION_S = Number(process.env.SLUICE_BENCH_SECONDS ?? 5);

export interface Contender {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startContender(options: ServeOptions): Promise<Contender> {
  const script = fileURLToPath(new URL("./serve.ts", import.meta.url));
  // stdout to /dev/null: the broker's default (info) request log is written, as in production.
  const child = fork(script, [JSON.stringify(options)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { url: string }).url));
    child.once("exit", (code) => reject(new Error(`contender ${options.mode} exited with ${code}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill();
      }),
  };
}

export interface LoadResult {
  perSecond: number;
  p99: number;
  /** CPU time of the server process per completed request, in µs. */
  cpuMicros: number;
  errors: number;
}

export interface LoadRequest {
  /** One URL, or one per broker of a cluster: autocannon spreads its connections round-robin over them. */
  url: string | string[];
  body: string;
  headers: Record<string, string>;
}

function run(request: LoadRequest, seconds: number, connections: number) {
  return autocannon({
    // autocannon takes an array of URLs too; its types name only a string.
    url: request.url as string,
    method: "POST",
    body: request.body,
    headers: request.headers,
    connections,
    duration: seconds,
  });
}

/**
 * One second of warm-up (JIT, statement caches), then `DURATION_S` seconds measured;
 * CPU summed over the server processes `pids`.
 */
export async function load(
  pids: number[],
  request: LoadRequest,
  connections = CONCURRENCY,
): Promise<LoadResult> {
  const serversCpu = async () =>
    (await Promise.all(pids.map((pid) => cpuSecondsFromProc(pid)))).reduce((a, b) => a + b);
  await run(request, 1, connections);
  const before = await serversCpu();
  const result = await run(request, DURATION_S, connections);
  const cpu = (await serversCpu()) - before;
  const done = result.requests.total;
  return {
    perSecond: result.requests.average,
    p99: result.latency.p99,
    cpuMicros: (cpu * 1e6) / Math.max(1, done),
    errors: result.errors + result.non2xx + result.timeouts,
  };
}
