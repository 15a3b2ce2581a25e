export { launchChromium, throttleUploads } from "./browser.ts";
export { type ClamdServer, EICAR, eicarSignature, pingClamd, startClamd } from "./clamd.ts";
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
