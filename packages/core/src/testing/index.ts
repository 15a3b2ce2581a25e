export { launchChromium, throttleUploads } from "./browser.ts";
export { freePort, type RedisServer, redisTier, startRedis } from "./redis.ts";
export {
  binaryTier,
  CHROMIUM_ARGS,
  chromiumTier,
  postgresTier,
  rgwTier,
  type S3Target,
  type TierResult,
} from "./tiers.ts";
