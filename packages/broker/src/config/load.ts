// Loads the configuration once: file (YAML or JSON) < SLUICE_* environment <
// explicit overrides, validated by the schema; errors name the field and where
// its value came from.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { SluiceError } from "@sluice/core";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { type BrokerConfig, type ConfigInput, configSchema, DEFAULT_PROFILES } from "./schema.ts";

/** Environment variables that override one config field each. */
export const ENV_FIELDS: Record<string, { path: string[]; list?: boolean }> = {
  SLUICE_DATA_DIR: { path: ["dataDir"] },
  SLUICE_HOST: { path: ["server", "host"] },
  SLUICE_PORT: { path: ["server", "port"] },
  SLUICE_PUBLIC_URL: { path: ["server", "publicUrl"] },
  SLUICE_STORAGE_ENDPOINT: { path: ["storage", "endpoint"] },
  SLUICE_STORAGE_PUBLIC_ENDPOINT: { path: ["storage", "publicEndpoint"] },
  SLUICE_STORAGE_BUCKET: { path: ["storage", "bucket"] },
  SLUICE_STORAGE_REGION: { path: ["storage", "region"] },
  SLUICE_STORAGE_ACCESS_KEY_ID: { path: ["storage", "accessKeyId"] },
  SLUICE_STORAGE_SECRET_ACCESS_KEY: { path: ["storage", "secretAccessKey"] },
  SLUICE_STORAGE_SESSION_TOKEN: { path: ["storage", "sessionToken"] },
  SLUICE_STORAGE_FORCE_PATH_STYLE: { path: ["storage", "forcePathStyle"] },
  SLUICE_STORAGE_CONDITIONAL_WRITES: { path: ["storage", "capabilities", "conditionalWrites"] },
  SLUICE_STORAGE_CHECKSUMS: { path: ["storage", "capabilities", "checksums"] },
  SLUICE_STORE_ALLOW_SIGNATURE_V2: { path: ["store", "allowSignatureV2"] },
  SLUICE_DATABASE_URL: { path: ["database", "url"] },
  SLUICE_JWT_SECRET: { path: ["auth", "jwt", "secret"] },
  SLUICE_JWKS_URL: { path: ["auth", "jwt", "jwksUrl"] },
  SLUICE_JWT_ISSUER: { path: ["auth", "jwt", "issuer"] },
  SLUICE_JWT_AUDIENCE: { path: ["auth", "jwt", "audience"] },
  SLUICE_CORS_ORIGINS: { path: ["cors", "origins"], list: true },
  SLUICE_EVENTS_TOKEN: { path: ["events", "token"] },
  SLUICE_WEBHOOK_URL: { path: ["webhooks", "url"] },
  SLUICE_WEBHOOK_SECRETS: { path: ["webhooks", "secrets"], list: true },
  SLUICE_LOG_LEVEL: { path: ["log", "level"] },
};

/** The SLUICE_* variable that sets a config field ("storage.bucket" → SLUICE_STORAGE_BUCKET). */
export function envVarFor(field: string): string | undefined {
  return Object.entries(ENV_FIELDS).find(([, { path }]) => path.join(".") === field)?.[0];
}

export interface LoadConfigOptions {
  /** YAML or JSON file; a missing file named explicitly is an error. */
  file?: string;
  /** Environment to read SLUICE_* overrides from (pass process.env). */
  env?: Record<string, string | undefined>;
  /** Last word, e.g. the embedded store's endpoint and credentials. */
  overrides?: ConfigInput | Record<string, unknown>;
}

function configError(message: string, cause?: unknown): SluiceError {
  return new SluiceError({ code: "InvalidConfig", status: 500, message, cause });
}

function readFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw configError(`Cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
  let value: unknown;
  try {
    value = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw configError(
      `Config file ${file} is not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${(error as Error).message}`,
    );
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value))
    throw configError(`Config file ${file} must hold an object`);
  return value as Record<string, unknown>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepMerge(base: Record<string, unknown>, top: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(top)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function fromEnv(env: Record<string, string | undefined>): {
  values: Record<string, unknown>;
  sources: Map<string, string>;
} {
  const values: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  for (const [name, field] of Object.entries(ENV_FIELDS)) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    const value = field.list
      ? raw
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : raw;
    setPath(values, field.path, value);
    sources.set(field.path.join("."), name);
  }
  return { values, sources };
}

function describeIssues(error: z.ZodError, sources: Map<string, string>, file?: string): string {
  const lines = error.issues.map((issue) => {
    const field = issue.path.join(".") || "(root)";
    const source = sources.get(field) ?? (file ? file : "config");
    return `  ${field}: ${issue.message} (from ${source})`;
  });
  return `Invalid configuration:\n${lines.join("\n")}`;
}

/** Validates a configuration object (no file, no environment). */
export function parseConfig(
  input: ConfigInput | Record<string, unknown>,
  sources = new Map<string, string>(),
  file?: string,
): BrokerConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) throw configError(describeIssues(result.error, sources, file));
  const parsed = result.data;
  const profiles = parsed.profiles ?? configSchema.shape.profiles.unwrap().parse(DEFAULT_PROFILES);
  return { ...parsed, dataDir: resolve(parsed.dataDir), profiles };
}

/** Reads file + SLUICE_* environment + overrides and validates the result. */
export function loadConfig(options: LoadConfigOptions = {}): BrokerConfig {
  const fileValues = options.file ? readFile(options.file) : {};
  const env = fromEnv(options.env ?? {});
  const merged = deepMerge(
    deepMerge(fileValues, env.values),
    (options.overrides ?? {}) as Record<string, unknown>,
  );
  return parseConfig(merged, env.sources, options.file);
}
