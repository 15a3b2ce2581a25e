/**
 * An HTTP proxy in front of the broker that puts the CLI's crash windows where
 * a test wants them: it can hold the answer to a completion (the broker did
 * complete; the CLI never hears it) or answer status polls with a 503 blip.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export type BrokerFault = "pass" | "hold-complete" | "blip-status";

export interface BrokerProxy {
  url: string;
  fault: BrokerFault;
  /** Resolves when a completion answered by the broker was held back. */
  held(): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

const COMPLETE = /^\/v1\/uploads\/[^/?]+\/complete$/;
const STATUS = /^\/v1\/uploads\/[^/?]+$/;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startBrokerProxy(target: string): Promise<BrokerProxy> {
  const heldAnswers: Array<{ status: number; body: string }> = [];
  const waiting: Array<(answer: { status: number; body: string }) => void> = [];
  const holding = new Set<ServerResponse>();
  const server = createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const body = await readBody(req);
    if (proxy.fault === "blip-status" && req.method === "GET" && STATUS.test(path)) {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "Unavailable", message: "injected blip" } }));
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of ["authorization", "content-type", "accept"]) {
      const value = req.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const upstream = await fetch(`${target}${req.url}`, {
      method: req.method,
      headers,
      body: body.length > 0 ? body.toString("utf8") : undefined,
    });
    const answer = { status: upstream.status, body: await upstream.text() };
    if (proxy.fault === "hold-complete" && req.method === "POST" && COMPLETE.test(path)) {
      holding.add(res);
      const resolve = waiting.shift();
      if (resolve) resolve(answer);
      else heldAnswers.push(answer);
      return;
    }
    res.writeHead(answer.status, { "content-type": upstream.headers.get("content-type") ?? "text/plain" });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const proxy: BrokerProxy = {
    url: `http://127.0.0.1:${port}`,
    fault: "pass",
    held: () => {
      const answer = heldAnswers.shift();
      return answer ? Promise.resolve(answer) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () =>
      new Promise((resolve) => {
        for (const res of holding) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
