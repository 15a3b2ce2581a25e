// The JSON shape of an upload / file, shared by every route that returns one.
import type { UploadRow } from "../db/schema.ts";
import { readMetadata } from "./metadata.ts";

export function uploadView(row: UploadRow) {
  return {
    id: row.id,
    state: row.state,
    method: row.method,
    profile: row.profile,
    user: row.user_id,
    name: row.name,
    type: row.type,
    size: row.size,
    key: row.key,
    sha256: row.sha256,
    reason: row.reason,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: new Date(row.expires_at).toISOString(),
    completedAt: row.completed_at === null ? null : new Date(row.completed_at).toISOString(),
    metadata: readMetadata(row.metadata),
    serverMetadata: readMetadata(row.server_metadata),
    ...(row.method === "multipart" ? { partSize: row.part_size, partCount: row.part_count } : {}),
  };
}

export type UploadView = ReturnType<typeof uploadView>;
