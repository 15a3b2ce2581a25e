import { ownValue } from "@sluice/core";
import type { Profile } from "../config/schema.ts";
import { configSchema } from "../config/schema.ts";
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";

const fallback = configSchema.shape.profiles.unwrap().valueType.parse({});

/** The profile an upload was granted under (defaults if it was removed from the config since). */
export function ctxProfile(ctx: Pick<BrokerContext, "config">, row: Pick<UploadRow, "profile">): Profile {
  return ownValue(ctx.config.profiles, row.profile) ?? fallback;
}
