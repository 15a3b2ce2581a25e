export { type LoadConfigOptions, loadConfig, parseConfig } from "./load.ts";
export type { BrokerConfig, ConfigInput, Profile } from "./schema.ts";
export { formatDuration, formatSize, parseDuration, parseSize } from "./units.ts";
