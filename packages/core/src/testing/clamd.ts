// A real clamd (Debian's clamav-daemon) for the scanning tests: its own
// configuration, a signature database the test writes (no freshclam, no
// network), a TCP port on 127.0.0.1 and a unix socket under its own directory.
// Loading even a tiny database takes clamd seconds: start one per test file.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";
import { binaryTier, type TierResult } from "./tiers.ts";

/** The industry-standard antivirus test file, assembled so this source is not itself flagged. */
export const EICAR = ["X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"].join("");

/** An .ndb line that finds the EICAR string anywhere in any file (also inside archives clamd unpacks). */
export function eicarSignature(name = "Sluice.Test.EICAR"): string {
  return `${name}:0:*:${Buffer.from(EICAR).toString("hex")}\n`;
}

/** Debian's zip, to pack EICAR into an archive clamd must unpack. */
export function zipTier(): TierResult<string> {
  return binaryTier("/usr/bin/zip", "zip");
}

/** A zip (made by /usr/bin/zip in `dir`) holding a text file and EICAR, deflated so the string is not in the clear. */
export function eicarZip(dir: string): Buffer {
  // Padding that compresses, so zip deflates the entry instead of storing it.
  writeFileSync(join(dir, "eicar.com"), `${EICAR}\n${"padding ".repeat(512)}`);
  writeFileSync(join(dir, "readme.txt"), "nothing here\n");
  const archive = join(dir, "bundle.zip");
  rmSync(archive, { force: true });
  execFileSync("/usr/bin/zip", ["-q", "-j", archive, join(dir, "readme.txt"), join(dir, "eicar.com")]);
  return readFileSync(archive);
}

export interface ClamdServer {
  host: string;
  port: number;
  socket: string;
  /** The running clamd's process id (for CPU figures). */
  pid(): number | undefined;
  /** Stops clamd (SIGTERM, then waits for it to exit); `start` brings it back on the same port and socket. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** One PING over TCP: true when clamd answers PONG. */
export function pingClamd(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let answer = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on("connect", () => socket.write("zPING\0"));
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
      if (answer.includes("\0")) done(answer.startsWith("PONG"));
    });
    socket.on("error", () => done(false));
    socket.on("close", () => done(answer.startsWith("PONG")));
  });
}

/**
 * Starts clamd with `signatures` (file name → content, e.g. `{"test.ndb": eicarSignature()}`)
 * and waits until it answers PING.
 */
export async function startClamd(options: {
  binary: string;
  signatures: Record<string, string>;
  /** clamd's StreamMaxLength (and the scan limits with it), e.g. "200M". */
  streamMaxLength?: string;
  readyTimeoutMs?: number;
}): Promise<ClamdServer> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-clamd-"));
  const db = join(dir, "db");
  mkdirSync(db);
  mkdirSync(join(dir, "tmp"));
  for (const [name, content] of Object.entries(options.signatures)) writeFileSync(join(db, name), content);
  const port = await freePort();
  const socket = join(dir, "clamd.sock");
  const limit = options.streamMaxLength ?? "64M";
  const conf = join(dir, "clamd.conf");
  writeFileSync(
    conf,
    [
      "Foreground yes",
      `DatabaseDirectory ${db}`,
      `TemporaryDirectory ${join(dir, "tmp")}`,
      `LocalSocket ${socket}`,
      "FixStaleSocket yes",
      `TCPSocket ${port}`,
      "TCPAddr 127.0.0.1",
      `StreamMaxLength ${limit}`,
      `MaxScanSize ${limit}`,
      `MaxFileSize ${limit}`,
      "SelfCheck 0",
      "MaxThreads 4",
      `LogFile ${join(dir, "clamd.log")}`,
      "",
    ].join("\n"),
  );
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const log = () => {
    try {
      return readFileSync(join(dir, "clamd.log"), "utf8").split("\n").slice(-15).join("\n");
    } catch {
      return "(no log)";
    }
  };

  async function start(): Promise<void> {
    const proc = spawn(options.binary, ["-c", conf, "--foreground"], { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    let stderr = "";
    proc.stderr!.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    let gone = false;
    exited = new Promise((resolve) =>
      proc.once("exit", () => {
        gone = true;
        resolve();
      }),
    );
    const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
    while (!(await pingClamd("127.0.0.1", port))) {
      if (gone) throw new Error(`clamd exited while starting: ${stderr || log()}`);
      if (Date.now() > deadline) {
        proc.kill("SIGKILL");
        throw new Error(`clamd did not answer PING: ${log()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function stop(): Promise<void> {
    if (!child || child.exitCode !== null) return;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child?.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(killer);
    child = undefined;
  }

  await start();
  return {
    host: "127.0.0.1",
    port,
    socket,
    pid: () => child?.pid,
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
