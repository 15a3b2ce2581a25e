// Upload metadata: the application's own context for an upload ("ticket 9"),
// a small flat JSON object checked against the profile's rules, stored with the
// upload (JSON) and as one row per key so listings can filter on it.
import { z } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import type { Kysely } from "kysely";
import { metadataKey, type Profile } from "../config/schema.ts";
import type { Database, UploadMetadataTable } from "../db/schema.ts";
import type { MetadataFilter } from "../db/uploads.ts";

/** Largest metadata object, as compact JSON. */
export const MAX_METADATA_BYTES = 2048;

export type MetadataValue = string | number | boolean;
export type Metadata = Record<string, MetadataValue>;

/** The request schema of `metadata` and `serverMetadata` (also the OpenAPI document's). */
export const MetadataSchema = z
  .record(metadataKey, z.union([z.string().max(1024), z.number(), z.boolean()]))
  .refine((m) => Object.keys(m).length <= 64, "at most 64 keys")
  .refine(
    (m) => Buffer.byteLength(JSON.stringify(m)) <= MAX_METADATA_BYTES,
    `at most ${MAX_METADATA_BYTES} bytes as JSON`,
  )
  .openapi("Metadata", {
    description: `Flat object of string, number or boolean values, at most ${MAX_METADATA_BYTES} bytes as JSON`,
    example: { ticket: 9, kind: "attachment" },
  });

/** Refuses metadata that breaks the profile's rules (required keys, allowed keys and types): 422. */
export function checkMetadata(profile: Profile, metadata: Metadata): void {
  const rules = profile.metadata;
  if (!rules) return;
  const missing = rules.required.filter((key) => !(key in metadata));
  if (missing.length > 0)
    throw errors.unprocessable(`metadata lacks required key(s): ${missing.join(", ")}`, "InvalidMetadata");
  if (!rules.keys) return;
  for (const [key, value] of Object.entries(metadata)) {
    const type = rules.keys[key];
    if (!type)
      throw errors.unprocessable(`metadata key ${key} is not allowed by this profile`, "InvalidMetadata");
    if (typeof value !== type)
      throw errors.unprocessable(`metadata key ${key} must be a ${type}`, "InvalidMetadata");
  }
}

/** The text a value is matched by in `?metadata.key=value`: strings as they are, others as JSON. */
export function metadataText(value: MetadataValue): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Stores the per-key rows of an upload's metadata (in the transaction that records the upload). */
export async function insertMetadataRows(
  db: Kysely<Database>,
  options: { uploadId: string; metadata?: Metadata; serverMetadata?: Metadata },
): Promise<void> {
  const rows: UploadMetadataTable[] = [];
  for (const [scope, metadata] of [
    ["client", options.metadata],
    ["server", options.serverMetadata],
  ] as const) {
    for (const [key, value] of Object.entries(metadata ?? {}))
      rows.push({ upload_id: options.uploadId, scope, key, value: metadataText(value) });
  }
  if (rows.length > 0) await db.insertInto("upload_metadata").values(rows).execute();
}

const MAX_FILTERS = 8;

/** The metadata filters among a request's query parameters; bad keys are a 400. */
export function metadataFilters(query: Record<string, string | undefined>): MetadataFilter[] {
  const filters: MetadataFilter[] = [];
  for (const [name, value] of Object.entries(query)) {
    const match = /^(metadata|serverMetadata)\.(.*)$/.exec(name);
    if (!match || value === undefined) continue;
    if (!metadataKey.safeParse(match[2]).success)
      throw errors.badRequest(`${name}: not a metadata key`, "ValidationError");
    filters.push({ scope: match[1] === "metadata" ? "client" : "server", key: match[2]!, value });
  }
  if (filters.length > MAX_FILTERS)
    throw errors.badRequest(`at most ${MAX_FILTERS} metadata filters`, "ValidationError");
  return filters;
}

/** Parses a stored metadata column. */
export function readMetadata(column: string | null): Metadata {
  return column ? (JSON.parse(column) as Metadata) : {};
}
