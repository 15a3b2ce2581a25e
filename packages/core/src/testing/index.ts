export { axeViolations, launchChromium, throttleUploads } from "./browser.ts";
export {
  type ClamdServer,
  EICAR,
  eicarSignature,
  eicarZip,
  pingClamd,
  startClamd,
  zipTier,
} from "./clamd.ts";
export { freePort } from "./ports.ts";
export { type PostgresServer, postgresBinaries, startPostgres } from "./postgres-server.ts";
export { type RedisServer, redisTier, startRedis } from "./redis.ts";
export {
  binaryTier,
  CHROMIUM_ARGS,
  chromiumTier,
  clamdTier,
  postgresTier,
  rgwTier,
  type S3Target,
  type TierResult,
} from "./tiers.ts";
