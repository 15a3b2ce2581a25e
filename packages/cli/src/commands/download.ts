/** `sluice download ID -o OUT`: presigned GET to a file, resumed with Range after an interruption. */
import { stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { downloadStream, downloadToFile, type SluiceClient } from "@sluice/client";
import { SluiceError } from "@sluice/core";
import { Command } from "commander";
import { connect, globalFlags, printJson } from "../context.ts";
import { EXIT } from "../exit-codes.ts";
import { formatBytes } from "../format.ts";
import { createBars } from "../progress-bars.ts";

export function downloadCommand(): Command {
  return new Command("download")
    .description("download a file by id (resumes an interrupted download)")
    .argument("<id>", "file id, as printed by upload or ls")
    .option(
      "-o, --output <path>",
      "file to write, or a directory (the file's name inside it), or - for stdout (default: the file's name here)",
    )
    .action(async (id: string, flags: { output?: string }, command: Command) => {
      const json = globalFlags(command).json === true;
      const { client } = await connect(command);
      try {
        if (flags.output === "-") return await toStdout(client, id);
        const out = await outputPath(flags.output, () => client.file(id).then((file) => file.name), id);
        const bars = createBars({ enabled: !json && process.stderr.isTTY === true });
        let report: ReturnType<typeof bars.add> | undefined;
        const controller = new AbortController();
        const onSignal = () => {
          controller.abort();
          bars.stop();
          process.stderr.write("\nInterrupted: run the same command again to resume.\n");
          process.exit(EXIT.interrupted);
        };
        process.once("SIGINT", onSignal);
        try {
          const result = await downloadToFile(client, id, out, {
            signal: controller.signal,
            onProgress: (progress) => {
              report ??= bars.add(basename(out), progress.total);
              report(progress);
            },
          });
          bars.stop();
          if (json) printJson({ id, ...result });
          else {
            const resumed = result.resumedFrom > 0 ? ` (resumed at ${formatBytes(result.resumedFrom)})` : "";
            process.stdout.write(`${out}  ${formatBytes(result.size)}${resumed}\n`);
          }
        } finally {
          bars.stop();
          process.off("SIGINT", onSignal);
        }
      } finally {
        client.close();
      }
    });
}

/** -o FILE as is; -o DIR (existing, or written with a trailing slash) gets the stored name inside it. */
async function outputPath(output: string | undefined, storedName: () => Promise<string>, id: string) {
  if (output === undefined) return resolve(safeFileName(await storedName(), id));
  const info = await stat(output).catch(() => undefined);
  if (info?.isDirectory() || /[/\\]$/.test(output)) {
    if (!info) {
      throw new SluiceError({
        code: "FileNotFound",
        status: 400,
        message: `-o ${output}: no such directory (create it first)`,
      });
    }
    return resolve(output, safeFileName(await storedName(), id));
  }
  return resolve(output);
}

/** -o -: the bytes to stdout (for pipes), no progress bar, no resume. */
async function toStdout(client: SluiceClient, id: string): Promise<void> {
  const body = await downloadStream(client, id);
  await pipeline(Readable.from(body), process.stdout);
}

/**
 * A stored name as a file name in the current directory: no directories,
 * no "." or "..", no control characters (the name came from whoever uploaded).
 */
export function safeFileName(name: string, fallback: string): string {
  const base = basename(name.replace(/\\/g, "/"))
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .trim();
  return base === "" || base === "." || base === ".." ? fallback : base;
}

/** `sluice presign ID`: a presigned download URL for curl, a browser or another machine (lives minutes). */
export function presignCommand(): Command {
  return new Command("presign")
    .description("print a download URL for a file (a presigned GET that lives minutes)")
    .argument("<id>", "file id")
    .action(async (id: string, _flags: unknown, command: Command) => {
      const { client } = await connect(command);
      try {
        const { url, expiresAt } = await client.download(id);
        if (globalFlags(command).json) printJson({ id, url, ...(expiresAt ? { expiresAt } : {}) });
        else process.stdout.write(`${url}\n`);
      } finally {
        client.close();
      }
    });
}
