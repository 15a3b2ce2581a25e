/** `sluice share`, `sluice links` and `sluice revoke`: download links that expire, count uses, and can be revoked. */
import { SluiceError } from "@sluice/core";
import { Command } from "commander";
import { connect, globalFlags, printJson } from "../context.ts";
import { parseDuration, parsePositiveInt } from "../format.ts";

export function shareCommand(): Command {
  return new Command("share")
    .description("create a share link for a file")
    .argument("<id>", "file id")
    .option("-e, --expires <duration>", "lifetime, e.g. 30m, 12h, 7d", "7d")
    .option(
      "-m, --max-downloads <n>",
      "uses before the link stops working",
      parsePositiveInt("--max-downloads"),
    )
    .action(async (id: string, flags: { expires: string; maxDownloads?: number }, command: Command) => {
      const expiresIn = parseDuration(flags.expires);
      const { client } = await connect(command);
      const link = await client
        .share(id, { expiresIn, ...(flags.maxDownloads ? { maxDownloads: flags.maxDownloads } : {}) })
        .catch((error: unknown) => {
          throw withOptionNames(error, { expiresIn: "--expires", maxDownloads: "--max-downloads" });
        });
      if (globalFlags(command).json) return printJson(link);
      const limits = [
        link.expiresAt ? `expires ${link.expiresAt}` : undefined,
        flags.maxDownloads ? `${flags.maxDownloads} download(s)` : undefined,
      ].filter(Boolean);
      process.stdout.write(
        `${link.url}\n  link id ${link.id}${limits.length ? `, ${limits.join(", ")}` : ""}\n`,
      );
    });
}

/** The broker names its JSON fields; a CLI user knows the options that set them. */
function withOptionNames(error: unknown, names: Record<string, string>): unknown {
  if (!(error instanceof SluiceError)) return error;
  let message = error.message;
  for (const [field, option] of Object.entries(names)) message = message.replaceAll(field, option);
  return new SluiceError({ code: error.code, status: error.status, message, cause: error });
}

export function revokeCommand(): Command {
  return new Command("revoke")
    .description("revoke a share link at once")
    .argument("<link-id>", "link id, as printed by share")
    .action(async (linkId: string, _flags: unknown, command: Command) => {
      const { client } = await connect(command);
      await client.revoke(linkId);
      if (globalFlags(command).json) return printJson({ revoked: linkId });
      process.stdout.write(`revoked ${linkId}\n`);
    });
}

export function linksCommand(): Command {
  return new Command("links")
    .description("list a file's share links (ids to revoke; their URLs are never stored)")
    .argument("<id>", "file id")
    .action(async (id: string, _flags: unknown, command: Command) => {
      const { client } = await connect(command);
      const links = await client.links(id);
      if (globalFlags(command).json) return printJson(links);
      if (links.length === 0) return void process.stdout.write(`no share links for ${id}\n`);
      const now = Date.now();
      for (const link of links) {
        const state = link.revokedAt
          ? "revoked"
          : Date.parse(link.expiresAt) <= now
            ? "expired"
            : link.maxDownloads !== null && link.uses >= link.maxDownloads
              ? "used up"
              : "live";
        const uses = `${link.uses}${link.maxDownloads === null ? "" : `/${link.maxDownloads}`} use(s)`;
        process.stdout.write(`${link.id}  ${state.padEnd(7)}  ${uses}, expires ${link.expiresAt}\n`);
      }
    });
}
