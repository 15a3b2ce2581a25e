// Append-only audit log: every grant, completion, verification, download and
// link use. Details are small JSON objects and never hold credentials or URLs.
import { randomUUID } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import type { AuditLogTable, Database } from "./schema.ts";

export interface AuditEvent {
  action: string;
  tenant?: string | null;
  user?: string | null;
  subject?: string | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

function auditRow(event: AuditEvent, at: number) {
  return {
    id: randomUUID(),
    at,
    tenant: event.tenant ?? null,
    user_id: event.user ?? null,
    action: event.action,
    subject: event.subject ?? null,
    ip: event.ip ?? null,
    detail: event.detail ? JSON.stringify(event.detail) : null,
  };
}

export async function audit(db: Kysely<Database>, event: AuditEvent): Promise<void> {
  await db.insertInto("audit_log").values(auditRow(event, Date.now())).execute();
}

/** The same event about many uploads, in one statement (at most a few hundred rows: bound-parameter limits). */
export async function auditUploads(
  db: Kysely<Database>,
  rows: ReadonlyArray<{ id: string; tenant: string; user_id: string }>,
  event: { action: string },
): Promise<void> {
  if (rows.length === 0) return;
  const at = Date.now();
  const values = rows.map((row) =>
    auditRow({ ...event, tenant: row.tenant, user: row.user_id, subject: row.id }, at),
  );
  await db.insertInto("audit_log").values(values).execute();
}

/** `detail.by`: the server key that acted for the owner, so the log tells the application's actions apart. */
export function actorDetail(principal: { server?: { keyId: string } }): { detail?: Record<string, unknown> } {
  return principal.server ? { detail: { by: `server-key:${principal.server.keyId}` } } : {};
}

/** An event about one upload, attributed to its owner. */
export function auditUpload(
  db: Kysely<Database>,
  row: { id: string; tenant: string; user_id: string },
  event: { action: string; ip?: string; detail?: Record<string, unknown> },
): Promise<void> {
  return audit(db, { ...event, tenant: row.tenant, user: row.user_id, subject: row.id });
}

export async function listAudit(
  db: Kysely<Database>,
  options: {
    subject?: string;
    action?: string;
    limit?: number;
    tenant?: string;
    user?: string;
    /** Page cursor: entries strictly after this (at, id), oldest first. */
    after?: { at: number; id: string };
  },
): Promise<Array<Selectable<AuditLogTable>>> {
  let query = db.selectFrom("audit_log").selectAll();
  if (options.subject) query = query.where("subject", "=", options.subject);
  if (options.action) query = query.where("action", "=", options.action);
  if (options.tenant !== undefined) query = query.where("tenant", "=", options.tenant);
  if (options.user !== undefined) query = query.where("user_id", "=", options.user);
  const after = options.after;
  if (after)
    query = query.where((eb) =>
      eb.or([eb("at", ">", after.at), eb.and([eb("at", "=", after.at), eb("id", ">", after.id)])]),
    );
  return query
    .orderBy("at", "asc")
    .orderBy("id", "asc")
    .limit(options.limit ?? 100)
    .execute();
}
