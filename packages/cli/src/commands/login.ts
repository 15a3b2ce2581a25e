/** `sluice login`, `sluice logout`, `sluice token`: the broker URL and token the other commands use. */
import { createClient } from "@sluice/client";
import { Command } from "commander";
import { globalFlags, printJson } from "../context.ts";
import { usageError } from "../exit-codes.ts";
import { configFile, forgetLogin, maskToken, resolveCredentials, saveLogin } from "../settings.ts";

export function loginCommand(): Command {
  return new Command("login")
    .description("check a broker URL and token, then remember them (~/.sluice/config.json, mode 0600)")
    .usage("--url URL [--token TOKEN | --token -]")
    .addHelpText(
      "after",
      "\nUses the global --url and --token; without --token (or with '-') the token is read from stdin,\nwhich keeps it out of the shell history.",
    )
    .action(async (_flags: unknown, command: Command) => {
      const flags = globalFlags(command);
      if (!flags.url)
        throw usageError("Missing --url: sluice login --url https://files.example.com --token -");
      const token = flags.token === "-" || flags.token === undefined ? await readStdin() : flags.token;
      if (!token) throw usageError("No token given: pass --token TOKEN or pipe it with --token -");
      let url: URL;
      try {
        url = new URL(flags.url);
      } catch {
        throw usageError(`"${flags.url}" is not a URL: use e.g. http://127.0.0.1:8080`);
      }
      const client = createClient({ endpoint: url.origin, token, resumeStore: false });
      await client.files(); // proves URL and token work before saving them
      const path = await saveLogin({ url: url.origin, token });
      process.stdout.write(`Logged in to ${url.origin}; saved in ${path}\n`);
    });
}

export function logoutCommand(): Command {
  return new Command("logout").description("forget the saved URL and token").action(async () => {
    await forgetLogin();
    process.stdout.write(`Removed ${configFile()}\n`);
  });
}

export function tokenCommand(): Command {
  return new Command("token")
    .description("show which broker and token the CLI uses, and where they come from (token masked)")
    .action(async (_flags: unknown, command: Command) => {
      const credentials = await resolveCredentials(globalFlags(command));
      const view = { url: credentials.url, token: maskToken(credentials.token), source: credentials.source };
      if (globalFlags(command).json) return printJson(view);
      process.stdout.write(`url     ${view.url}\ntoken   ${view.token}\nsource  ${view.source}\n`);
    });
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("Token: ");
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return text.trim();
}
