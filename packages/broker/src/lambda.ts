// AWS Lambda adapter: API Gateway / function URL requests, and storage events
// from SQS or S3 (events/lambda.ts). The broker is created on the
// first invocation and reused while the container lives:
//   export const handler = createLambdaHandler(loadConfig({ env: process.env }));
import { handle } from "hono/aws-lambda";
import { type Broker, type BrokerOptions, createBroker } from "./app.ts";
import type { BrokerConfig } from "./config/schema.ts";
import { handleRecordsEvent, isRecordsEvent, type RecordsEvent } from "./events/lambda.ts";

export function createLambdaHandler(config: BrokerConfig, options: BrokerOptions = {}) {
  let broker: Promise<Broker> | undefined;
  type Handler = ReturnType<typeof handle>;
  const handler = async (event: Parameters<Handler>[0] | RecordsEvent, context: Parameters<Handler>[1]) => {
    broker ??= createBroker(config, { sweeper: false, ...options });
    const ready = await broker;
    if (isRecordsEvent(event)) return handleRecordsEvent(ready.context, event);
    return handle(ready.app)(event, context);
  };
  /** Releases the database and storage client (tests; Lambda itself just freezes the process). */
  handler.close = async () => {
    await (await broker)?.close();
  };
  return handler;
}
