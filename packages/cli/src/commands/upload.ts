/** `sluice upload FILE...`: several files (or globs) at once, a bar per file and a total. */
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pipeline } from "node:stream/promises";
import {
  contentTypeFor,
  type ProfileInfo,
  type Progress,
  profilesAccepting,
  type SluiceClient,
  type UploadRecord,
  type UploadResult,
  type UploadTask,
} from "@sluice/client";
import { SluiceError } from "@sluice/core";
import { Command } from "commander";
import { connect, globalFlags } from "../context.ts";
import { EXIT, exitCodeFor, usageError } from "../exit-codes.ts";
import { formatBytes, parsePositiveInt } from "../format.ts";
import { expandFiles } from "../glob.ts";
import { createBars } from "../progress-bars.ts";

interface UploadFlags {
  profile?: string;
  name?: string;
  concurrency?: number;
  parallel: number;
  sha256?: boolean;
  wait: boolean;
  resume: boolean;
}

interface Outcome {
  file: string;
  result?: UploadResult;
  settled?: UploadRecord;
  error?: unknown;
}

/** `-` reads stdin: it is copied to a private temporary file first (the broker grants an exact size). */
const STDIN = "-";

export function uploadCommand(): Command {
  return new Command("upload")
    .description("upload files straight to storage (multipart, parallel, resumable); - reads stdin")
    .argument("<files...>", "files or glob patterns (*, ?, **), or - for stdin (with --name)")
    .option(
      "-p, --profile <name>",
      "upload profile configured on the broker (default: the one profile that accepts the file)",
    )
    .option("-n, --name <name>", "stored file name (required with -, the stdin upload)")
    .option(
      "-c, --concurrency <n>",
      "parts in flight per file (default 4)",
      parsePositiveInt("--concurrency"),
    )
    .option("--parallel <n>", "files uploaded at once", parsePositiveInt("--parallel"), 2)
    .option("--sha256", "hash each file first; storage then verifies the bytes")
    .option("--no-wait", "return once uploaded, without waiting for verification")
    .option("--no-resume", "start over instead of resuming an interrupted upload")
    .action(async (patterns: string[], flags: UploadFlags, command: Command) => {
      const json = globalFlags(command).json === true;
      const stdin = patterns.includes(STDIN);
      if (stdin && patterns.length > 1)
        throw usageError("upload -: stdin is uploaded on its own, without files");
      if (stdin && !flags.name) throw usageError("upload - needs --name: the name the file is stored under");
      if (!stdin && flags.name && patterns.length > 1)
        throw usageError("--name names one file; several were given");
      const spooled = stdin ? await spoolStdin() : undefined;
      try {
        const files = spooled ? [spooled.path] : await expandFiles(patterns);
        const { client } = await connect(command);
        const choose = profileChooser(client, flags.profile);
        const bars = createBars({ enabled: !json && process.stderr.isTTY === true });
        const running = new Set<UploadTask>();
        const onSignal = () => {
          // Pause, not abort: the broker keeps the upload and the next run resumes it.
          for (const task of running) task.pause();
          bars.stop();
          process.stderr.write("\nInterrupted: run the same command again to resume.\n");
          process.exit(EXIT.interrupted);
        };
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);

        const label = (file: string) => (spooled ? STDIN : file);
        const outcomes = new Map<string, Outcome>();
        const queue = [...files];
        const uploadOne = async (file: string): Promise<Outcome> => {
          try {
            const name = flags.name ?? basename(file);
            // An unreadable path: the SDK's own error (FileNotFound, NotAFile) says why, below.
            const size = await stat(file).then(
              (info) => info.size,
              () => undefined,
            );
            const profile = size === undefined ? (flags.profile ?? "default") : await choose({ name, size });
            let report: ((progress: Progress) => void) | undefined;
            const task = client.upload(file, {
              profile,
              ...(flags.name ? { name: flags.name } : {}),
              concurrency: flags.concurrency,
              sha256: flags.sha256 === true,
              // A spooled copy of stdin has a new path every run: nothing to resume.
              resume: flags.resume && !spooled,
              onProgress: (progress) => {
                report ??= bars.add(name, progress.total);
                report(progress);
              },
            });
            running.add(task);
            const result = await task.done.finally(() => running.delete(task));
            // ready and rejected are final: no later poll (say, through a broker blip) can change them.
            const final = result.upload.state === "ready" || result.upload.state === "rejected";
            const settled = flags.wait && !final ? await client.waitUntilSettled(result.id) : result.upload;
            return { file: label(file), result, settled };
          } catch (error) {
            return { file: label(file), error };
          }
        };
        await Promise.all(
          Array.from({ length: Math.min(flags.parallel, files.length) }, async () => {
            for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
              const outcome = await uploadOne(file);
              outcomes.set(file, outcome);
              // One JSON line per file as soon as it is done, for scripts that follow progress.
              if (json) process.stdout.write(`${JSON.stringify(toJson(outcome))}\n`);
            }
          }),
        );
        bars.stop();
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        client.close();

        // The summary in argument order; failures go to stderr in both modes.
        const ordered = files.map((file) => outcomes.get(file)!);
        for (const outcome of ordered) if (json ? failed(outcome) : true) printOutcome(outcome);
        process.exitCode = worstExit(ordered);
      } finally {
        await spooled?.remove();
      }
    });
}

/**
 * The profile for each file: --profile when given; else the one profile whose
 * types and size range accept the file ("default" when several do); else an
 * error that lists the profiles.
 */
function profileChooser(client: SluiceClient, flag: string | undefined) {
  let listed: Promise<ProfileInfo[] | undefined> | undefined;
  return async (file: { name: string; size: number }): Promise<string> => {
    if (flag) return flag;
    // A broker without GET /v1/profiles: its "default" profile, as before.
    listed ??= client.profiles().catch((error) => {
      if (error instanceof SluiceError && error.status === 404) return undefined;
      throw error;
    });
    const profiles = await listed;
    if (!profiles) return "default";
    const fitting = profilesAccepting(profiles, file);
    if (fitting.length === 1) return fitting[0]!.name;
    if (fitting.some((p) => p.name === "default")) return "default";
    const list = (fitting.length > 0 ? fitting : profiles)
      .map((p) => `  ${p.name}: ${p.types.join(", ")}, up to ${formatBytes(p.maxSize)}`)
      .join("\n");
    throw usageError(
      fitting.length > 0
        ? `${file.name}: several profiles accept it; choose one with --profile:\n${list}`
        : `${file.name} (${contentTypeFor(file.name)}, ${formatBytes(file.size)}): no profile accepts it; the profiles are:\n${list}`,
    );
  };
}

async function spoolStdin(): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-stdin-"));
  const path = join(dir, "stdin");
  await pipeline(process.stdin, createWriteStream(path, { mode: 0o600 }));
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}

function toJson(outcome: Outcome) {
  const { file, result, settled, error } = outcome;
  if (error !== undefined) {
    const code = error instanceof SluiceError ? error.code : "Error";
    return { file, state: "failed", error: { code, message: (error as Error).message } };
  }
  return {
    file,
    id: result!.id,
    name: result!.name,
    size: result!.size,
    type: result!.type,
    method: result!.method,
    resumed: result!.resumed,
    state: settled!.state,
    ...(settled!.reason ? { reason: settled!.reason } : {}),
  };
}

function printOutcome(outcome: Outcome): void {
  const { file, result, settled, error } = outcome;
  if (error !== undefined) {
    process.stderr.write(`${file}: ${(error as Error).message}\n`);
  } else if (settled!.state === "rejected") {
    process.stderr.write(`${file}: rejected by the broker: ${settled!.reason ?? "no reason given"}\n`);
  } else {
    const resumed = result!.resumed ? ", resumed" : "";
    process.stdout.write(
      `${result!.id}  ${result!.name}  ${formatBytes(result!.size)}  ${settled!.state}${resumed}\n`,
    );
  }
}

function failed(outcome: Outcome): boolean {
  return outcome.error !== undefined || outcome.settled?.state === "rejected";
}

/** The exit code of the first failure, so scripts see why. */
function worstExit(outcomes: Outcome[]): number {
  for (const outcome of outcomes) {
    if (outcome.error !== undefined) return exitCodeFor(outcome.error);
    if (outcome.settled?.state === "rejected") return EXIT.refused;
  }
  return EXIT.ok;
}
