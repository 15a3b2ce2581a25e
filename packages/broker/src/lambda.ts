// AWS Lambda (API Gateway / function URL) adapter. The broker is created on the
// first invocation and reused while the container lives:
//   export const handler = createLambdaHandler(loadConfig({ env: process.env }));
import { handle } from "hono/aws-lambda";
import { type Broker, type BrokerOptions, createBroker } from "./app.ts";
import type { BrokerConfig } from "./config/schema.ts";

export function createLambdaHandler(config: BrokerConfig, options: BrokerOptions = {}) {
  let broker: Promise<Broker> | undefined;
  return async (
    event: Parameters<ReturnType<typeof handle>>[0],
    context: Parameters<ReturnType<typeof handle>>[1],
  ) => {
    broker ??= createBroker(config, { sweeper: false, ...options });
    return handle((await broker).app)(event, context);
  };
}
