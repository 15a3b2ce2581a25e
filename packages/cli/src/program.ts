/** The `sluice` command line: commands, global flags, and errors turned into exit codes. */
import { SluiceError } from "@sluice/core";
import { Command, CommanderError } from "commander";
import { apikeyCommand, policyCommand, setupCommand } from "./commands/admin.ts";
import { downloadCommand, presignCommand } from "./commands/download.ts";
import { lsCommand, rmCommand } from "./commands/files.ts";
import { linksCommand, revokeCommand, shareCommand } from "./commands/links.ts";
import { loginCommand, logoutCommand, tokenCommand } from "./commands/login.ts";
import { serveCommand } from "./commands/serve.ts";
import { storeCommand } from "./commands/store.ts";
import { uploadCommand } from "./commands/upload.ts";
import { webhooksCommand } from "./commands/webhooks.ts";
import { EXIT, EXIT_HELP, exitCodeFor } from "./exit-codes.ts";

export function buildProgram(): Command {
  const program = new Command("sluice")
    .description("Direct uploads and downloads between clients and S3-compatible storage")
    .version("0.1.0")
    .option("--url <url>", "broker URL (or SLUICE_URL, or `sluice login`)")
    .option("--token <token>", "API key or token (or SLUICE_TOKEN, or `sluice login`)")
    .option("--json", "machine-readable output on stdout")
    .addHelpText(
      "after",
      `\nCredentials: --url/--token, else SLUICE_URL/SLUICE_TOKEN, else ~/.sluice/config.json (sluice login),\nelse the session of a \`sluice serve\` running in this directory.\n\n${EXIT_HELP}\n`,
    )
    .showHelpAfterError("(run `sluice --help` for usage)")
    .exitOverride();
  for (const command of [
    serveCommand(),
    storeCommand(),
    uploadCommand(),
    downloadCommand(),
    presignCommand(),
    lsCommand(),
    rmCommand(),
    shareCommand(),
    linksCommand(),
    revokeCommand(),
    loginCommand(),
    logoutCommand(),
    tokenCommand(),
    apikeyCommand(),
    setupCommand(),
    policyCommand(),
    webhooksCommand(),
  ]) {
    program.addCommand(withExitOverride(command));
  }
  return program;
}

/** Usage errors throw (to become exit code 2) instead of exiting, in subcommands too. */
function withExitOverride(command: Command): Command {
  for (const sub of command.commands) withExitOverride(sub);
  return command.exitOverride();
}

/** Runs the CLI and returns the exit code (never throws). */
export async function run(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed the message already; help and --version are not failures.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    process.stderr.write(`sluice: ${describe(error)}\n`);
    return exitCodeFor(error);
  }
}

function describe(error: unknown): string {
  if (error instanceof SluiceError) {
    if (error.status === 401)
      return `${error.message} (check the token: \`sluice token\`, or \`sluice login\`)`;
    if (error.code === "NetworkError" && error.message.startsWith("Cannot reach the broker"))
      return `${error.message}: is \`sluice serve\` running? Or pass --url (or set SLUICE_URL)`;
    return error.message;
  }
  if (error instanceof Error && "code" in error && typeof error.code === "string") {
    return `${error.message}`;
  }
  return error instanceof Error ? `unexpected error: ${error.message}` : String(error);
}
