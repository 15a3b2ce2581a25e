/** `sluice download ID -o OUT`: presigned GET to a file, resumed with Range after an interruption. */
import { basename, resolve } from "node:path";
import { downloadToFile } from "@sluice/client";
import { Command } from "commander";
import { connect, globalFlags, printJson } from "../context.ts";
import { EXIT } from "../exit-codes.ts";
import { formatBytes } from "../format.ts";
import { createBars } from "../progress-bars.ts";

export function downloadCommand(): Command {
  return new Command("download")
    .description("download a file by id (resumes an interrupted download)")
    .argument("<id>", "file id, as printed by upload or ls")
    .option("-o, --output <path>", "where to write it (default: the file's name, in the current directory)")
    .action(async (id: string, flags: { output?: string }, command: Command) => {
      const json = globalFlags(command).json === true;
      const { client } = await connect(command);
      const out = resolve(flags.output ?? safeFileName((await client.file(id)).name, id));
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
        client.close();
      }
    });
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
