// Shared by the grant benchmarks: a contender in its own process (bench/serve.ts),
// loaded by autocannon from this one; CPU per request from /proc/<pid>/stat of
// the server process, the figure that holds when other work shares the machine.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { cpuSecondsFromProc, treeCpuSecondsFromProc } from "@sluice/core/bench";
import autocannon from "autocannon";
import type { ServeOptions } from "./serve.ts";

export const CONCURRENCY = 50;
export const DURATION_S = Number(process.env.SLUICE_BENCH_SECONDS ?? 5);
/** Requests before measuring (JIT, statement caches): a count, not a time, so a starved process is warm too. */
const WARM_UP_REQUESTS = 2_000;

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
  /** CPU time of the database server (its process tree) per completed request, in µs, when asked for. */
  databaseCpuMicros?: number;
  errors: number;
}

export interface LoadRequest {
  /** One URL, or one per broker of a cluster: autocannon spreads its connections round-robin over them. */
  url: string | string[];
  body: string;
  headers: Record<string, string>;
}

function run(request: LoadRequest, connections: number, length: { duration: number } | { amount: number }) {
  return autocannon({
    // autocannon takes an array of URLs too; its types name only a string.
    url: request.url as string,
    method: "POST",
    body: request.body,
    headers: request.headers,
    connections,
    ...length,
  });
}

/**
 * `WARM_UP_REQUESTS` of warm-up, then `DURATION_S` seconds measured; CPU summed over
 * the server processes `pids` and, with `databasePid`, that process and its children
 * (PostgreSQL's backends).
 */
export async function load(
  pids: number[],
  request: LoadRequest,
  options: { connections?: number; databasePid?: number } = {},
): Promise<LoadResult> {
  const { connections = CONCURRENCY, databasePid } = options;
  const serversCpu = async () =>
    (await Promise.all(pids.map((pid) => cpuSecondsFromProc(pid)))).reduce((a, b) => a + b);
  await run(request, connections, { amount: WARM_UP_REQUESTS });
  const before = await serversCpu();
  const databaseBefore = databasePid ? await treeCpuSecondsFromProc(databasePid) : 0;
  const result = await run(request, connections, { duration: DURATION_S });
  const cpu = (await serversCpu()) - before;
  const databaseCpu = databasePid ? (await treeCpuSecondsFromProc(databasePid)) - databaseBefore : 0;
  const done = Math.max(1, result.requests.total);
  return {
    perSecond: result.requests.average,
    p99: result.latency.p99,
    cpuMicros: (cpu * 1e6) / done,
    ...(databasePid ? { databaseCpuMicros: (databaseCpu * 1e6) / done } : {}),
    errors: result.errors + result.non2xx + result.timeouts,
  };
}
