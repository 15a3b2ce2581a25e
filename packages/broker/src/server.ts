// Node adapter: serves the broker's Web-standard app over node:http.
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type BrokerOptions, createBroker } from "./app.ts";
import type { BrokerConfig } from "./config/schema.ts";

export interface RunningBroker {
  /** Where the broker listens, e.g. http://127.0.0.1:8080 */
  url: string;
  devToken?: string;
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
  return {
    url: `http://${host}:${address.port}`,
    devToken: broker.devToken,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await broker.close();
    },
  };
}
