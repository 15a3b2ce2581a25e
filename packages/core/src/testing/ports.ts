// Ports for test servers that cannot bind port 0 and report the one they got.
import { once } from "node:events";
import { createServer } from "node:net";

/** A loopback TCP port free at the time of asking (for servers that cannot bind port 0 and report it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
