/** `sluice store`: only the embedded S3-compatible store, for a broker configured elsewhere. */
import { resolve } from "node:path";
import { Command } from "commander";
import { CREDENTIALS_FILE, startEmbeddedStore, storeDataDir } from "../embedded-store.ts";
import { parsePort } from "../format.ts";
import { untilSignal } from "./serve.ts";

/** `sluice store rotate-key`: a new master key for encryption at rest; no object is rewritten. */
function rotateKeyCommand(): Command {
  return new Command("rotate-key")
    .description(
      "make a new master key for encrypted objects and re-wrap their data keys (objects are not rewritten)",
    )
    .action(async (_flags: unknown, command: Command) => {
      // --data is the store command's own (`sluice store --data DIR rotate-key` or `sluice store rotate-key --data DIR`).
      const data = (command.parent?.opts() as { data?: string } | undefined)?.data ?? ".sluice";
      const { rotateMasterKey } = await import("@sluice/store");
      const result = rotateMasterKey(storeDataDir(resolve(data)));
      process.stdout.write(
        `New master key ${result.keyId}: ${result.rewrapped} data keys re-wrapped; retired ${result.retired.join(", ") || "none"}.\n`,
      );
    });
}

export function storeCommand(): Command {
  return new Command("store")
    .addCommand(rotateKeyCommand())
    .description("run only the embedded S3-compatible store")
    .option("-d, --data <dir>", "data directory", ".sluice")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--port <n>", "port (0 picks a free one)", parsePort, 9000)
    .option("--allow-sigv2", "also accept legacy Signature Version 2 (old clients, SHA-1 POST policies)")
    .action(async (flags: { data: string; host: string; port: number; allowSigv2?: boolean }) => {
      const dataDir = resolve(flags.data);
      const { store, credentials } = await startEmbeddedStore({
        dataDir,
        host: flags.host,
        port: flags.port,
        allowSignatureV2: flags.allowSigv2 === true,
      });
      // Like `sluice serve` prints its development token: the credentials were generated for this
      // data directory (kept in a 0600 file) and an S3 client needs them to talk to the store.
      process.stdout.write(
        [
          "Sluice store is running. For S3 clients (aws, boto3, rclone...):",
          `  export AWS_ENDPOINT_URL=${store.endpoint} AWS_REGION=us-east-1`,
          `  export AWS_ACCESS_KEY_ID=${credentials.accessKeyId}`,
          `  export AWS_SECRET_ACCESS_KEY=${credentials.secretAccessKey}`,
          `Credentials are kept in ${resolve(dataDir, CREDENTIALS_FILE)} (mode 0600). Stop with Ctrl-C.`,
          "",
        ].join("\n"),
      );
      await untilSignal();
      await store.close();
    });
}
