// The HS256 secret: configured, or generated once into the data directory
// (mode 0600) so development tokens survive restarts.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BrokerConfig } from "../config/schema.ts";

export interface JwtSecret {
  secret: string;
  /** True when Sluice made it (then a development token may be minted). */
  generated: boolean;
}

export function resolveJwtSecret(config: BrokerConfig): JwtSecret | undefined {
  const { jwt } = config.auth;
  if (jwt.secret) return { secret: jwt.secret, generated: false };
  if (jwt.jwksUrl) return undefined;
  const file = join(config.dataDir, "jwt-secret");
  try {
    return { secret: readFileSync(file, "utf8").trim(), generated: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(file, 0o600);
  return { secret, generated: true };
}
