/** `sluice ls` and `sluice rm`. */
import type { SluiceClient } from "@sluice/client";
import { SluiceError } from "@sluice/core";
import { Command } from "commander";
import { connect, globalFlags, printJson } from "../context.ts";
import { EXIT, exitCodeFor } from "../exit-codes.ts";
import { formatBytes, table } from "../format.ts";

export function lsCommand(): Command {
  return new Command("ls")
    .description("list your files")
    .option("--interrupted", "list the uploads from this machine that were cut short (resume: upload again)")
    .action(async (flags: { interrupted?: boolean }, command: Command) => {
      const { client } = await connect(command);
      if (flags.interrupted) return listInterrupted(client, globalFlags(command).json === true);
      const files = await client.files();
      if (globalFlags(command).json) return printJson(files);
      if (files.length === 0)
        return void process.stdout.write("No files yet: upload one with `sluice upload FILE`\n");
      const rows = files.map((file) => [
        file.id,
        formatBytes(file.size),
        file.state,
        file.createdAt ? new Date(file.createdAt).toISOString().slice(0, 19).replace("T", " ") : "",
        file.name,
      ]);
      process.stdout.write(`${table([["ID", "SIZE", "STATE", "CREATED", "NAME"], ...rows])}\n`);
    });
}

/** What `sluice upload` would resume: the state files of uploads still open on the broker. */
async function listInterrupted(client: SluiceClient, json: boolean): Promise<void> {
  const uploads = await client.interruptedUploads();
  if (json) return printJson(uploads);
  if (uploads.length === 0) return void process.stdout.write("No interrupted uploads.\n");
  const rows = uploads.map((upload) => [
    upload.uploadId,
    `${formatBytes(upload.bytesDone)} of ${formatBytes(upload.size)}`,
    upload.profile,
    new Date(upload.updatedAt).toISOString().slice(0, 19).replace("T", " "),
    upload.path ?? upload.name,
  ]);
  process.stdout.write(`${table([["UPLOAD", "SENT", "PROFILE", "STOPPED", "FILE"], ...rows])}\n`);
  process.stdout.write("Resume one with `sluice upload FILE` (the same file, unchanged).\n");
}

export function rmCommand(): Command {
  return new Command("rm")
    .description("delete files (and their share links); every id is tried, failures are reported each")
    .argument("<ids...>", "file ids")
    .action(async (ids: string[], _flags: unknown, command: Command) => {
      const json = globalFlags(command).json === true;
      const { client } = await connect(command);
      const deleted: string[] = [];
      const failed: Array<{ id: string; code: string; message: string }> = [];
      let exit: number = EXIT.ok;
      for (const id of ids) {
        try {
          await client.remove(id);
          deleted.push(id);
          if (!json) process.stdout.write(`deleted ${id}\n`);
        } catch (error) {
          const code = error instanceof SluiceError ? error.code : "Error";
          failed.push({ id, code, message: (error as Error).message });
          process.stderr.write(`${id}: ${(error as Error).message}\n`);
          if (exit === EXIT.ok) exit = exitCodeFor(error);
        }
      }
      client.close();
      if (json) printJson({ deleted, failed });
      process.exitCode = exit;
    });
}
