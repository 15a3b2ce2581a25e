// Node adapter: serves the broker's Web-standard app over node:http.
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type BrokerOptions, createBroker } from "./app.ts";
import { publicAddressWarnings, reachableUrl } from "./config/public-address.ts";
import type { BrokerConfig } from "./config/schema.ts";
import type { BrokerContext } from "./context.ts";
import { pageOrigins, putCors } from "./storage/cors.ts";

export interface RunningBroker {
  /** Where the broker listens, e.g. http://127.0.0.1:8080 (http://0.0.0.0:8080 on every interface). */
  url: string;
  /** What clients are given: server.publicUrl, else the listen URL with 0.0.0.0 replaced by this machine's address. */
  publicUrl: string;
  devToken?: string;
  /** The broker's services (database, storage client), for embedding and tests. */
  context: BrokerContext;
  close(): Promise<void>;
}

export async function startBroker(config: BrokerConfig, options: BrokerOptions = {}): Promise<RunningBroker> {
  const broker = await createBroker(config, options);
  let server: ReturnType<typeof serve>;
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server = serve({ fetch: broker.fetch, hostname: config.server.host, port: config.server.port }, resolve);
    server.once("error", reject);
  }).catch(async (error) => {
    await broker.close();
    throw error;
  });
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  const publicUrl = config.server.publicUrl?.replace(/\/$/, "") ?? reachableUrl(url);
  for (const warning of publicAddressWarnings(config)) broker.context.log.warn(warning);
  if (options.ensureBucket ?? true) {
    const origins = [
      ...config.cors.origins,
      ...(options.web ? pageOrigins({ publicUrl: config.server.publicUrl, listenUrl: url }) : []),
    ];
    const { s3, target, log } = broker.context;
    // A store without CORS support still serves non-browser clients: warn, do not fail.
    if (origins.length > 0) {
      await putCors(s3, { bucket: target.bucket, origins }).catch((error: Error) =>
        log.warn({ err: error.name }, "could not apply the CORS allowlist to the bucket"),
      );
    }
  }
  return {
    url,
    publicUrl,
    devToken: broker.devToken,
    context: broker.context,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await broker.close();
    },
  };
}
