// Public API of @sluice/broker.
export {
  createApiKey,
  listApiKeysIn,
  mintToken,
  revokeApiKeyById,
  setupBucket,
  setupBucketEvents,
} from "./admin.ts";
export { type Broker, type BrokerOptions, createBroker } from "./app.ts";
export type { AuthorizeHook } from "./auth/authenticate.ts";
export type { Principal } from "./auth/principal.ts";
export {
  type BrokerConfig,
  type ConfigInput,
  type LoadConfigOptions,
  loadConfig,
  type Profile,
  parseConfig,
} from "./config/index.ts";
export { isUnspecifiedHost, machineAddress, reachableUrl } from "./config/public-address.ts";
export type { PageHost, WebHandler } from "./http/web.ts";
export { createLambdaHandler, loadLambdaConfig } from "./lambda.ts";
export { type RunningBroker, startBroker } from "./server.ts";
export type { ScannedFile, Scanner } from "./verification/scanners.ts";
