/** Runs `sluice` as a separate process, the way a user or a script does. */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/sluice.js", import.meta.url));

export interface CliOptions {
  cwd: string;
  /** Added to a clean environment (no SLUICE_* from the caller). */
  env: Record<string, string>;
  /** Written to the command's stdin (else stdin is closed). */
  input?: Uint8Array | string;
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("SLUICE_")) env[name] = value;
  return { ...env, ...extra };
}

export function spawnCli(args: string[], options: CliOptions): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  return child;
}

/** The JSON lines `upload --json` prints, one per file. */
export function jsonLines<T = Record<string, unknown>>(stdout: string): T[] {
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function finished(child: ChildProcess): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  return finished(spawnCli(args, options));
}

export interface Serve {
  url: string;
  storeEndpoint: string;
  /** The development token ("" when the configuration has its own secret). */
  token: string;
  child: ChildProcess;
  /** Sends SIGINT and waits for the exit. */
  stop(): Promise<CliResult>;
}

/** Starts `sluice serve` and reads the addresses and dev token it prints. */
export async function startServe(args: string[], options: CliOptions): Promise<Serve> {
  const child = spawnCli(["serve", ...args], options);
  const result = finished(child);
  let stdout = "";
  const banner = await new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes("Stop with Ctrl-C.")) resolve(stdout);
    });
    void result.then((r) => reject(new Error(`serve exited early (${r.code}): ${r.stderr}`)));
  });
  const field = (label: string) => {
    const match = new RegExp(`${label}:\\s+(\\S+)`).exec(banner);
    if (!match) throw new Error(`serve did not print "${label}": ${banner}`);
    return match[1]!;
  };
  return {
    url: field("Page and API"),
    storeEndpoint: field("Store \\(S3\\)"),
    token: banner.includes("Dev token:") ? field("Dev token") : "",
    child,
    async stop() {
      child.kill("SIGINT");
      return result;
    },
  };
}
