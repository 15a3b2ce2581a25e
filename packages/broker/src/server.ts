// Node adapter: serves the broker's Web-standard app over node:http.
import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { serve } from "@hono/node-server";
import { type BrokerOptions, createBroker } from "./app.ts";
import { publicAddressWarnings, reachableUrl } from "./config/public-address.ts";
import type { BrokerConfig } from "./config/schema.ts";
import type { BrokerContext } from "./context.ts";
import type { Metrics } from "./http/metrics.ts";
import { isOneRequestUpload } from "./http/one-request.ts";
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
  watchConnections(server!, broker.context.metrics);
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

/**
 * `Expect: 100-continue`: a one-request upload is answered (307) before its
 * body is asked for, so the client sends the body to storage and never here;
 * every other request gets its 100 Continue as Node would send it. Bytes read
 * from clients are counted (sluice_http_received_bytes_total).
 */
function watchConnections(server: ReturnType<typeof serve>, metrics: Metrics): void {
  const http = server as Server;
  const counted = new WeakMap<Socket, number>();
  const account = (socket: Socket) => {
    const read = socket.bytesRead;
    const before = counted.get(socket) ?? 0;
    if (read <= before) return;
    counted.set(socket, read);
    metrics.add("sluice_http_received_bytes_total", read - before, {}, "Bytes read from clients");
  };
  http.on("connection", (socket: Socket) => socket.once("close", () => account(socket)));
  http.on("request", (request, response) => response.once("finish", () => account(request.socket)));
  http.on("checkContinue", (request, response) => {
    if (!isOneRequestUpload(request.url ?? "")) response.writeContinue();
    http.emit("request", request, response);
  });
}
