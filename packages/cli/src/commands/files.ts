/** `sluice ls` and `sluice rm`. */
import { Command } from "commander";
import { connect, globalFlags, printJson } from "../context.ts";
import { formatBytes, table } from "../format.ts";

export function lsCommand(): Command {
  return new Command("ls")
    .description("list your files")
    .action(async (_flags: unknown, command: Command) => {
      const { client } = await connect(command);
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

export function rmCommand(): Command {
  return new Command("rm")
    .description("delete files (and their share links)")
    .argument("<ids...>", "file ids")
    .action(async (ids: string[], _flags: unknown, command: Command) => {
      const { client } = await connect(command);
      for (const id of ids) {
        await client.remove(id);
        if (!globalFlags(command).json) process.stdout.write(`deleted ${id}\n`);
      }
      if (globalFlags(command).json) printJson({ deleted: ids });
    });
}
