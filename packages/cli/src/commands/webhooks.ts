/** `sluice webhooks deliveries` and `sluice webhooks replay`: the broker's webhook delivery log (server keys). */
import { Command } from "commander";
import { globalFlags, printJson } from "../context.ts";
import { table } from "../format.ts";
import { resolveCredentials } from "../settings.ts";

async function server(command: Command) {
  const credentials = await resolveCredentials(globalFlags(command));
  // Loaded on use, as the broker is for the admin commands: the other commands start without it.
  const { createSluiceServer } = await import("@sluice/server");
  return createSluiceServer({ url: credentials.url, key: credentials.token });
}

const time = (iso: string | null) => (iso ? iso.slice(0, 19).replace("T", " ") : "");

export function webhooksCommand(): Command {
  const webhooks = new Command("webhooks").description(
    "webhook deliveries to your application (needs a server key)",
  );
  webhooks.addCommand(
    new Command("deliveries")
      .description("the delivery log, newest first: state, attempts, last status and latency")
      .option("--state <state>", "pending, delivered or failed")
      .option("--file <id>", "only the deliveries of this file")
      .option("-n, --limit <n>", "how many", "50")
      .action(async (flags: { state?: string; file?: string; limit: string }, command: Command) => {
        const sluice = await server(command);
        const state = flags.state as "pending" | "delivered" | "failed" | undefined;
        const { deliveries } = await sluice.webhooks.deliveries.list({
          ...(state ? { state } : {}),
          ...(flags.file ? { file: flags.file } : {}),
          limit: Number(flags.limit),
        });
        if (globalFlags(command).json) return printJson(deliveries);
        if (deliveries.length === 0) return void process.stdout.write("No webhook deliveries\n");
        const rows = deliveries.map((d) => [
          d.id,
          d.type,
          d.endpoint,
          d.state,
          String(d.attempts),
          d.lastStatus === null ? (d.lastError ?? "") : String(d.lastStatus),
          d.lastLatencyMs === null ? "" : `${d.lastLatencyMs} ms`,
          time(d.createdAt),
          d.fileId,
        ]);
        process.stdout.write(
          `${table([["ID", "EVENT", "ENDPOINT", "STATE", "ATTEMPTS", "LAST", "LATENCY", "CREATED", "FILE"], ...rows])}\n`,
        );
      }),
  );
  webhooks.addCommand(
    new Command("replay")
      .description("send a delivery's event again (same webhook-id) as a new delivery")
      .argument("<id>", "delivery id, as printed by `sluice webhooks deliveries`")
      .action(async (id: string, _flags: unknown, command: Command) => {
        const replay = await (await server(command)).webhooks.deliveries.replay(id);
        if (globalFlags(command).json) return printJson(replay);
        process.stdout.write(`queued ${replay.id} (event ${replay.eventId} to ${replay.endpoint})\n`);
      }),
  );
  return webhooks;
}
