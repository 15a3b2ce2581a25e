/** `sluice upload FILE...`: several files (or globs) at once, a bar per file and a total. */
import type { Progress, UploadRecord, UploadResult, UploadTask } from "@sluice/client";
import { SluiceError } from "@sluice/core";
import { Command } from "commander";
import { connect, globalFlags, printJson } from "../context.ts";
import { EXIT, exitCodeFor } from "../exit-codes.ts";
import { formatBytes, parsePositiveInt } from "../format.ts";
import { expandFiles } from "../glob.ts";
import { createBars } from "../progress-bars.ts";

interface UploadFlags {
  profile: string;
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

export function uploadCommand(): Command {
  return new Command("upload")
    .description("upload files straight to storage (multipart, parallel, resumable)")
    .argument("<files...>", "files or glob patterns (*, ?, **)")
    .option("-p, --profile <name>", "upload profile configured on the broker", "default")
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
      const files = await expandFiles(patterns);
      const { client } = await connect(command);
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

      const outcomes: Outcome[] = [];
      const queue = [...files];
      const uploadOne = async (file: string): Promise<Outcome> => {
        try {
          let report: ((progress: Progress) => void) | undefined;
          const task = client.upload(file, {
            profile: flags.profile,
            concurrency: flags.concurrency,
            sha256: flags.sha256 === true,
            resume: flags.resume,
            onProgress: (progress) => {
              report ??= bars.add(file, progress.total);
              report(progress);
            },
          });
          running.add(task);
          const result = await task.done.finally(() => running.delete(task));
          // ready and rejected are final: no later poll (say, through a broker blip) can change them.
          const final = result.upload.state === "ready" || result.upload.state === "rejected";
          const settled = flags.wait && !final ? await client.waitUntilSettled(result.id) : result.upload;
          return { file, result, settled };
        } catch (error) {
          return { file, error };
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(flags.parallel, files.length) }, async () => {
          for (let file = queue.shift(); file !== undefined; file = queue.shift())
            outcomes.push(await uploadOne(file));
        }),
      );
      bars.stop();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      client.close();

      // Failures go to stderr in both modes, so a script piping --json still shows them to its user.
      for (const outcome of outcomes) if (json ? failed(outcome) : true) printOutcome(outcome);
      if (json) printJson(outcomes.map(toJson));
      process.exitCode = worstExit(outcomes);
    });
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
