// AWS Lambda (API Gateway / function URL) adapter. The broker is created on the
// first invocation and reused while the container lives:
//   export const handler = createLambdaHandler(loadConfig({ env: process.env }));
import { handle } from "hono/aws-lambda";
import { type Broker, type BrokerOptions, createBroker } from "./app.ts";
import type { BrokerConfig } from "./config/schema.ts";

export function createLambdaHandler(config: BrokerConfig, options: BrokerOptions = {}) {
  let broker: Promise<Broker> | undefined;
  type Handler = ReturnType<typeof handle>;
  const handler = async (event: Parameters<Handler>[0], context: Parameters<Handler>[1]) => {
    broker ??= createBroker(config, { sweeper: false, ...options });
    return handle((await broker).app)(event, context);
  };
  /** Releases the database and storage client (tests; Lambda itself just freezes the process). */
  handler.close = async () => {
    await (await broker)?.close();
  };
  return handler;
}
