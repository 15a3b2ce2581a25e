/** What every broker-facing command needs: the global flags, credentials and an SDK client. */
import { createClient, type SluiceClient } from "@sluice/client";
import type { Command } from "commander";
import { type Credentials, resolveCredentials, uploadStateDir } from "./settings.ts";

export interface GlobalFlags {
  url?: string;
  token?: string;
  json?: boolean;
}

export function globalFlags(command: Command): GlobalFlags {
  return command.optsWithGlobals() as GlobalFlags;
}

export async function connect(command: Command): Promise<{ client: SluiceClient; credentials: Credentials }> {
  const credentials = await resolveCredentials(globalFlags(command));
  const client = createClient({
    endpoint: credentials.url,
    token: credentials.token,
    stateDir: uploadStateDir(),
  });
  return { client, credentials };
}

/** Prints a JSON document on stdout (for --json). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
