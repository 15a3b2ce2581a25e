// AWS Lambda adapter: API Gateway / function URL requests, storage events
// from SQS or S3 (events/lambda.ts), and a scheduled sweep (EventBridge). The
// broker is created on the first invocation and reused while the container lives:
//   export const handler = createLambdaHandler(loadLambdaConfig(process.env));
// (deploy/aws/handler.ts, bundled by `npm run build:lambda`).
import { SluiceError } from "@sluice/core";
import { handle } from "hono/aws-lambda";
import { type Broker, type BrokerOptions, createBroker } from "./app.ts";
import { loadConfig } from "./config/load.ts";
import type { BrokerConfig } from "./config/schema.ts";
import { handleRecordsEvent, isRecordsEvent, type RecordsEvent } from "./events/lambda.ts";
import { sweep } from "./uploads/sweeper.ts";

/** An EventBridge schedule (`rate(5 minutes)`): the sweeper's pass, since a frozen Lambda runs no timers. */
interface ScheduledEvent {
  source: "aws.events";
  "detail-type": "Scheduled Event";
}

function isScheduledEvent(event: unknown): event is ScheduledEvent {
  return (event as Partial<ScheduledEvent>)?.["detail-type"] === "Scheduled Event";
}

/**
 * The configuration from SLUICE_* variables, with the function role's credentials (AWS_*, which
 * Lambda sets) for storage unless SLUICE_STORAGE_* names others. Refuses what cannot work on
 * Lambda: SQLite (every container has its own /tmp, so each would hold a different database) and a
 * JWT secret generated into the data directory (each container would sign with its own).
 */
export function loadLambdaConfig(env: Record<string, string | undefined>): BrokerConfig {
  const config = loadConfig({
    env: {
      SLUICE_DATA_DIR: "/tmp/sluice",
      SLUICE_STORAGE_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
      SLUICE_STORAGE_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
      SLUICE_STORAGE_SESSION_TOKEN: env.AWS_SESSION_TOKEN,
      SLUICE_STORAGE_REGION: env.AWS_REGION,
      ...definedOnly(env),
    },
  });
  const invalid = (message: string) => new SluiceError({ code: "InvalidConfig", status: 500, message });
  if (!/^postgres(ql)?:\/\//i.test(config.database.url ?? "")) {
    throw invalid(
      "SQLite does not work on AWS Lambda (each container has its own /tmp): set SLUICE_DATABASE_URL to a PostgreSQL URL",
    );
  }
  if (!config.auth.jwt.secret && !config.auth.jwt.jwksUrl) {
    throw invalid("set SLUICE_JWKS_URL (your identity provider's JWKS) or SLUICE_JWT_SECRET on AWS Lambda");
  }
  return config;
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

export function createLambdaHandler(config: BrokerConfig, options: BrokerOptions = {}) {
  let broker: Promise<Broker> | undefined;
  type Handler = ReturnType<typeof handle>;
  const handler = async (
    event: Parameters<Handler>[0] | RecordsEvent | ScheduledEvent,
    context: Parameters<Handler>[1],
  ) => {
    broker ??= createBroker(config, { sweeper: false, ...options });
    const ready = await broker;
    if (isRecordsEvent(event)) return handleRecordsEvent(ready.context, event);
    if (isScheduledEvent(event)) return sweep(ready.context, { storage: true });
    return handle(ready.app)(event, context);
  };
  /** Releases the database and storage client (tests; Lambda itself just freezes the process). */
  handler.close = async () => {
    await (await broker)?.close();
  };
  return handler;
}
