import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** A real webhook receiver for notification tests. */
export interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A real HTTP receiver; `answer` picks the status of each delivery. */
export async function openReceiver(): Promise<{
  url: string;
  got: Delivery[];
  answer: (delivery: Delivery) => number;
  setAnswer(fn: (delivery: Delivery) => number): void;
  close(): Promise<void>;
}> {
  const receiver = {
    got: [] as Delivery[],
    answer: (_delivery: Delivery) => 200,
    setAnswer(fn: (delivery: Delivery) => number) {
      receiver.answer = fn;
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const delivery: Delivery = {
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        status: 0,
      };
      delivery.status = receiver.answer(delivery);
      receiver.got.push(delivery);
      res.statusCode = delivery.status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hooks/s3`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

export async function until<T>(what: string, find: () => T | undefined, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export type EventRecord = {
  eventVersion: string;
  eventSource: string;
  awsRegion: string;
  eventTime: string;
  eventName: string;
  s3: {
    configurationId: string;
    bucket: { name: string; arn: string };
    object: { key: string; size?: number; eTag?: string; sequencer: string };
  };
};
export const recordOf = (delivery: Delivery) =>
  (JSON.parse(delivery.body) as { Records: EventRecord[] }).Records[0] as EventRecord;
