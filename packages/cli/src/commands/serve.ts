/**
 * `sluice serve`: the embedded store and the broker in one process, all state
 * under one data directory. With storage configured (file or SLUICE_STORAGE_*),
 * no embedded store is started and the broker uses that endpoint.
 */
import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import type { RunningBroker } from "@sluice/broker";
import { Command } from "commander";
import { listenError, startEmbeddedStore } from "../embedded-store.ts";
import { EXIT } from "../exit-codes.ts";
import { parsePort } from "../format.ts";
import { SESSION_FILE } from "../settings.ts";

interface ServeFlags {
  data?: string;
  config?: string;
  host?: string;
  port?: number;
  storePort: number;
  allowSigv2?: boolean;
}

export function serveCommand(): Command {
  return new Command("serve")
    .description("run the broker with the embedded store and SQLite (all state under --data)")
    .option("-d, --data <dir>", "data directory (default ./.sluice, or SLUICE_DATA_DIR)")
    .option("-c, --config <file>", "broker configuration, YAML or JSON (profiles, auth, storage...)")
    .option("--host <host>", "interface to listen on (default 127.0.0.1)")
    .option("-p, --port <n>", "broker port (default 8080; 0 picks a free one)", parsePort)
    .option("--store-port <n>", "embedded store port (0 picks a free one)", parsePort, 9000)
    .option(
      "--allow-sigv2",
      "embedded store also accepts Signature Version 2 (or config store.allowSignatureV2)",
    )
    .action(async (flags: ServeFlags) => {
      // Loaded here, not at the top: the broker takes most of a second to import, other commands skip it.
      const { loadConfig, setupBucketEvents, startBroker, isUnspecifiedHost, machineAddress, reachableUrl } =
        await import("@sluice/broker");
      const { createWebPages } = await import("@sluice/web");
      const env = process.env;
      const dataDir = resolve(flags.data ?? env.SLUICE_DATA_DIR ?? ".sluice");
      const server = {
        ...(flags.host ? { host: flags.host } : {}),
        ...(flags.port !== undefined ? { port: flags.port } : {}),
      };
      let configured = loadConfig({ file: flags.config, env, overrides: { dataDir, server } });
      const host = configured.server.host;

      // The embedded store tells the broker of every stored object (signed webhook to
      // /v1/events/s3), so an upload whose client dies after the bytes completes anyway,
      // as S3 → SQS does on AWS. The store needs the broker's URL first: its port is fixed now.
      const events = configured.storage.endpoint
        ? undefined
        : {
            arn: `arn:aws:sns:${configured.storage.region}:sluice:broker`,
            token: configured.events.token ?? randomBytes(32).toString("hex"),
            port: configured.server.port || (await freePort(host)),
          };
      if (events) {
        server.port = events.port;
        configured = loadConfig({ file: flags.config, env, overrides: { dataDir, server } });
      }
      const embedded = !events
        ? undefined
        : await startEmbeddedStore({
            dataDir,
            host,
            port: flags.storePort,
            region: configured.storage.region,
            minFreeBytes: configured.storage.minFreeSpace,
            notificationTargets: [
              {
                arn: events.arn,
                url: `http://${loopback(host)}:${events.port}/v1/events/s3`,
                secret: events.token,
              },
            ],
            allowSignatureV2: flags.allowSigv2 === true || configured.store.allowSignatureV2,
          });
      let broker: RunningBroker;
      try {
        // On every interface (--host 0.0.0.0) the broker calls the store over loopback, and clients are
        // given this machine's address (or server.publicUrl's host) unless storage.publicEndpoint says.
        const storeEndpoints = (listen: string) => {
          if (!isUnspecifiedHost(new URL(listen).hostname)) return { endpoint: listen };
          const { publicUrl } = configured.server;
          const host = (publicUrl ? new URL(publicUrl).hostname : machineAddress()) ?? "127.0.0.1";
          return {
            endpoint: reachableUrl(listen, "127.0.0.1"),
            publicEndpoint: configured.storage.publicEndpoint ?? reachableUrl(listen, host),
          };
        };
        const config = embedded
          ? loadConfig({
              file: flags.config,
              env,
              overrides: {
                dataDir,
                server,
                storage: {
                  ...storeEndpoints(embedded.store.endpoint),
                  accessKeyId: embedded.credentials.accessKeyId,
                  secretAccessKey: embedded.credentials.secretAccessKey,
                },
                events: { token: events!.token },
              },
            })
          : configured;
        // /readyz says so when the embedded store's disk runs low.
        const readiness: Record<string, () => Promise<boolean>> = embedded
          ? { storeDiskSpace: async () => (await embedded.store.health()).ok }
          : {};
        broker = await startBroker(config, { web: createWebPages(), readiness }).catch(
          (error: NodeJS.ErrnoException) => {
            throw listenError(error, "broker", config.server.port, "--port");
          },
        );
        if (events) await setupBucketEvents(config, { arn: events.arn });
      } catch (error) {
        await embedded?.store.close();
        throw error;
      }

      const session = join(dataDir, SESSION_FILE);
      if (broker.devToken) {
        // Lets `sluice upload` in this directory find the local broker without a login.
        const url = reachableUrl(broker.url, "127.0.0.1");
        await writeFile(session, `${JSON.stringify({ url, token: broker.devToken })}\n`, {
          mode: 0o600,
        });
      }
      process.stdout.write(
        [
          "Sluice is running.",
          `  Page and API:  ${broker.publicUrl}`,
          `  Store (S3):    ${broker.context.target.publicEndpoint}  bucket ${configured.storage.bucket}`,
          ...(broker.devToken ? [`  Dev token:     ${broker.devToken}`] : []),
          `  Data:          ${dataDir}`,
          "Stop with Ctrl-C.",
          "",
        ].join("\n"),
      );

      await untilSignal();
      process.stderr.write("Stopping...\n");
      await broker.close();
      await embedded?.store.close();
      await rm(session, { force: true });
      process.stderr.write("Stopped.\n");
    });
}

/** A free TCP port on `host` (the broker's, known before the store that must call it starts). */
function freePort(host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

/** The address the store reaches the broker at: loopback when the broker listens on every interface. */
function loopback(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

/** Resolves on the first Ctrl-C or SIGTERM; a second one exits at once. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolvePromise) => {
    const first = (signal: NodeJS.Signals) => {
      process.off("SIGINT", first);
      process.off("SIGTERM", first);
      process.once("SIGINT", () => process.exit(EXIT.interrupted));
      process.once("SIGTERM", () => process.exit(EXIT.interrupted));
      resolvePromise(signal);
    };
    process.on("SIGINT", first);
    process.on("SIGTERM", first);
  });
}
