// Table types of the metadata store. Times are epoch milliseconds (bigint
// columns read back as numbers on both SQLite and PostgreSQL).
import type { Generated, Insertable, Selectable } from "kysely";

export type UploadState = "pending" | "uploaded" | "ready" | "rejected" | "aborted" | "expired";
/** `form`: a plain HTML form (no script) whose file is only known once stored (grants/post.ts). */
export type UploadMethod = "put" | "post" | "multipart" | "form";

/** One row per grant; after completion the same row is the file. */
export interface UploadsTable {
  id: string;
  tenant: string;
  user_id: string;
  profile: string;
  name: string;
  type: string;
  size: number;
  /** Declared SHA-256, lowercase hex. */
  sha256: string | null;
  /** Where downloads are served from; only the broker's promotion writes it (verification/promote.ts). */
  key: string;
  /**
   * Where the grant writes (`{upload folder}/incoming/…`, uploads/quarantine.ts) and
   * verification reads; for a form upload not yet resolved, the prefix itself.
   */
  incoming_key: string;
  method: UploadMethod;
  state: UploadState;
  reason: string | null;
  multipart_id: string | null;
  part_size: number | null;
  part_count: number | null;
  etag: string | null;
  detected_type: string | null;
  created_at: number;
  updated_at: number;
  expires_at: number;
  completed_at: number | null;
  /** The application's context set at grant time: JSON object of string/number/boolean values. */
  metadata: string | null;
  /** Context only a server key may set (the application trusts it, a user cannot forge it). */
  server_metadata: string | null;
}

/** One row per metadata key of an upload, so `GET /v1/files?metadata.k=v` is an indexed lookup on both databases. */
export interface UploadMetadataTable {
  upload_id: string;
  /** `client`: metadata; `server`: serverMetadata. */
  scope: "client" | "server";
  key: string;
  /** Strings as they are, numbers and booleans as their JSON text. */
  value: string;
}

export interface LinksTable {
  id: string;
  token_hash: string;
  upload_id: string;
  tenant: string;
  user_id: string;
  expires_at: number;
  max_downloads: number | null;
  uses: Generated<number>;
  revoked_at: number | null;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  key_hash: string;
  tenant: string;
  user_id: string;
  name: string;
  created_at: number;
  revoked_at: number | null;
  /** `user`: the key acts as its user; `server`: the application's backend, tenant-wide. */
  scope: Generated<ApiKeyScope>;
}

export type ApiKeyScope = "user" | "server";

export interface AuditLogTable {
  id: string;
  at: number;
  tenant: string | null;
  user_id: string | null;
  action: string;
  subject: string | null;
  ip: string | null;
  /** JSON object with action-specific details (never credentials). */
  detail: string | null;
}

export type JobState = "queued" | "done" | "failed";

/** Durable work queue (verification), claimed with a lease so a crash only delays a job. */
export interface JobsTable {
  id: string;
  kind: string;
  upload_id: string;
  state: JobState;
  attempts: Generated<number>;
  run_at: number;
  locked_until: number | null;
  /** The worker id holding the lease (stable across restarts of one broker). */
  locked_by: string | null;
  last_error: string | null;
  created_at: number;
}

/** An image derivative (thumbnail) of a file, stored beside it under `{key}~derivatives/`. */
export interface DerivativesTable {
  upload_id: string;
  /** Preset name from the configuration, e.g. thumb-256. */
  name: string;
  key: string;
  type: string;
  size: number;
  width: number;
  height: number;
  created_at: number;
}

/** Taken (written) by every transaction that adds to a user's usage, so quota checks of one user run one at a time. */
export interface QuotaLocksTable {
  tenant: string;
  user_id: string;
  touched_at: number;
}

/** The outbox: one row per event, written in the transaction of the state change it reports. */
export interface WebhookEventsTable {
  /** The Standard Webhooks `webhook-id` (msg_…), the same on every delivery and retry. */
  id: string;
  type: string;
  tenant: string;
  upload_id: string;
  /** The JSON body sent, signed as is. */
  payload: string;
  created_at: number;
}

export type DeliveryState = "pending" | "delivered" | "failed";

/** One row per (event, endpoint): delivered in order per file and endpoint, retried with backoff. */
export interface WebhookDeliveriesTable {
  id: string;
  event_id: string;
  endpoint: string;
  tenant: string;
  upload_id: string;
  /** The event's creation time, strictly increasing per broker: the order of delivery per file. */
  order_at: number;
  state: DeliveryState;
  attempts: Generated<number>;
  next_at: number;
  locked_until: number | null;
  last_status: number | null;
  last_error: string | null;
  last_latency_ms: number | null;
  created_at: number;
  delivered_at: number | null;
}

/** Every attempt of a delivery: HTTP status (null when none came back), latency, error. */
export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  at: number;
  status: number | null;
  latency_ms: number;
  error: string | null;
}

/** Endpoints that answered 410 Gone: nothing more is sent to that URL under that name. */
export interface WebhookDisabledTable {
  endpoint: string;
  url: string;
  at: number;
  reason: string;
}

/**
 * queued → running → passed | skipped | failed (the step rejected the file);
 * retrying between failed attempts; error when the retry budget ran out with
 * the file left `uploaded`; cancelled when an earlier step rejected the file.
 */
export type CheckStatus =
  | "queued"
  | "running"
  | "retrying"
  | "passed"
  | "skipped"
  | "failed"
  | "error"
  | "cancelled";

/** One pipeline step of one upload (sniff, scan, strip…): what the file record shows as `checks`. */
export interface ChecksTable {
  upload_id: string;
  step: string;
  /** Order within the upload's pipeline. */
  position: number;
  status: CheckStatus;
  attempts: Generated<number>;
  /** Duration of the last attempt. */
  ms: number | null;
  /** What the step found (a signature, a size change) or why it failed. */
  detail: string | null;
  started_at: number | null;
  finished_at: number | null;
}

export interface Database {
  uploads: UploadsTable;
  links: LinksTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  jobs: JobsTable;
  derivatives: DerivativesTable;
  quota_locks: QuotaLocksTable;
  upload_metadata: UploadMetadataTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  webhook_disabled: WebhookDisabledTable;
  checks: ChecksTable;
}

export type UploadRow = Selectable<UploadsTable>;
export type NewUpload = Insertable<UploadsTable>;
export type LinkRow = Selectable<LinksTable>;
export type JobRow = Selectable<JobsTable>;
export type DerivativeRow = Selectable<DerivativesTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;
export type WebhookEventRow = Selectable<WebhookEventsTable>;
export type CheckRow = Selectable<ChecksTable>;
