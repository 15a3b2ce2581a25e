/**
 * A TCP proxy in front of storage that misbehaves on purpose, per new
 * connection: cuts it after N bytes (mid-part or mid-download), answers an
 * HTTP 500/503 itself, or waits before connecting.
 */
import { connect, createServer, type Socket } from "node:net";

export type Fault = (
  | { kind: "pass" }
  | { kind: "drop"; afterBytes: number }
  | { kind: "status"; status: 500 | 503 }
  | { kind: "delay"; ms: number }
  /** Relays the request, then cuts the connection when storage starts answering (the answer is lost). */
  | { kind: "lose-answer" }
  /** Accepts the connection and then never answers. */
  | { kind: "stall" }
  /** Throttles the connection (both directions) to about this rate. */
  | { kind: "slow"; bytesPerSecond: number }
) & {
  /** Counts the bytes of the connections that got this fault (the proxy's totals mix in older connections). */
  counter?: { up: number; down: number };
};

export interface FaultProxy {
  url: string;
  /** Decides the fault of the n-th connection (1-based); replaceable during a test. */
  plan: (connection: number) => Fault;
  /** How many connections got each kind of fault. */
  counts: Record<Fault["kind"], number>;
  /** Bytes relayed from storage to clients, and from clients to storage. */
  bytesDown: number;
  bytesUp: number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string, plan: FaultProxy["plan"]): Promise<FaultProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  let connections = 0;
  const proxy: FaultProxy = {
    url: "",
    plan,
    counts: { pass: 0, drop: 0, status: 0, delay: 0, slow: 0, stall: 0, "lose-answer": 0 },
    bytesDown: 0,
    bytesUp: 0,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    const fault = proxy.plan(++connections);
    proxy.counts[fault.kind]++;
    if (fault.kind === "stall") return;
    if (fault.kind === "status") {
      client.once("data", () => {
        const body = `<Error><Code>${fault.status === 503 ? "SlowDown" : "InternalError"}</Code><Message>injected</Message></Error>`;
        client.end(
          `HTTP/1.1 ${fault.status} Injected\r\ncontent-type: application/xml\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
        );
      });
      return;
    }
    const open = () => {
      const server = connect(Number(upstream.port), upstream.hostname);
      track(server);
      let bytes = 0;
      const relay = (from: Socket, to: Socket) =>
        from.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (
            (fault.kind === "drop" && bytes > fault.afterBytes) ||
            (fault.kind === "lose-answer" && from === server)
          ) {
            client.destroy();
            server.destroy();
            return;
          }
          const direction = from === server ? "down" : "up";
          if (direction === "down") proxy.bytesDown += chunk.length;
          else proxy.bytesUp += chunk.length;
          if (fault.counter) fault.counter[direction] += chunk.length;
          to.write(chunk);
          if (fault.kind === "slow") {
            from.pause();
            setTimeout(() => from.resume(), (chunk.length / fault.bytesPerSecond) * 1000);
          }
        });
      relay(client, server);
      relay(server, client);
      client.on("close", () => server.destroy());
      server.on("close", () => client.destroy());
    };
    if (fault.kind === "delay") {
      client.pause();
      setTimeout(() => {
        client.resume();
        open();
      }, fault.ms);
    } else open();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  proxy.url = `http://127.0.0.1:${address.port}`;
  return proxy;
}
