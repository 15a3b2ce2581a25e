// POST /v1/uploads: validate against the profile and quotas, make the key,
// record the pending upload, and sign the grant for the chosen method.
import { randomUUID } from "node:crypto";
import { CreateMultipartUploadCommand } from "@aws-sdk/client-s3";
import { errors } from "@sluice/core";
import type { Principal } from "../auth/principal.ts";
import type { BrokerContext } from "../context.ts";
import { auditUpload } from "../db/audit.ts";
import type { UploadRow } from "../db/schema.ts";
import { insertUpload, transitionUpload, usage } from "../db/uploads.ts";
import { planParts } from "../grants/multipart.ts";
import { keyName, keySegment, normaliseName } from "../grants/name.ts";
import { type PostGrant, postGrant } from "../grants/post.ts";
import { checkAgainstProfile, chooseMethod, parseMediaType } from "../grants/profile.ts";
import { type PutGrant, putGrant } from "../grants/put.ts";
import { storageError } from "../storage/target.ts";
import { ctxProfile } from "./profile.ts";
import { type UploadView, uploadView } from "./view.ts";

export interface CreateUploadRequest {
  profile?: string;
  name: string;
  size: number;
  type: string;
  /** Hex or base64 SHA-256 of the whole file. */
  sha256?: string;
}

export interface GrantResponse {
  upload: UploadView;
  put?: PutGrant;
  post?: PostGrant;
  multipart?: { partSize: number; partCount: number };
}

/** Multipart uploads may take long; their part URLs are signed lazily, so the record lives a day. */
const MULTIPART_LIFETIME_MS = 24 * 3600 * 1000;

export function normaliseSha256(value: string | undefined): string | null {
  if (value === undefined) return null;
  if (/^[0-9a-f]{64}$/i.test(value)) return value.toLowerCase();
  const bytes = Buffer.from(value, "base64");
  if (bytes.length === 32 && bytes.toString("base64") === value) return bytes.toString("hex");
  throw errors.badRequest("sha256 must be 64 hex digits or the base64 of 32 bytes", "InvalidChecksum");
}

function pickProfile(ctx: BrokerContext, name: string | undefined) {
  const profiles = ctx.config.profiles;
  const chosen =
    name ??
    (profiles.default
      ? "default"
      : Object.keys(profiles).length === 1
        ? Object.keys(profiles)[0]
        : undefined);
  const profile = chosen === undefined ? undefined : profiles[chosen];
  if (!chosen || !profile)
    throw errors.badRequest(
      name ? `Unknown profile ${JSON.stringify(name)}` : "profile is required",
      "UnknownProfile",
    );
  return { name: chosen, profile };
}

async function checkQuota(ctx: BrokerContext, owner: Principal, size: number): Promise<void> {
  const { maxBytesPerUser, maxPendingPerUser } = ctx.config.quotas;
  if (maxBytesPerUser === undefined && maxPendingPerUser === undefined) return;
  const used = await usage(ctx.db, owner);
  if (maxBytesPerUser !== undefined && used.bytes + size > maxBytesPerUser) {
    throw errors.tooLarge("Storage quota exceeded", "QuotaExceeded");
  }
  if (maxPendingPerUser !== undefined && used.pending >= maxPendingPerUser) {
    throw errors.tooManyRequests(60, "Too many uploads in progress");
  }
}

export async function createUpload(
  ctx: BrokerContext,
  options: { owner: Principal; request: CreateUploadRequest; ip?: string },
): Promise<GrantResponse> {
  const { owner, request } = options;
  const { name: profileName, profile } = pickProfile(ctx, request.profile);
  const type = parseMediaType(request.type);
  if (!type) throw errors.badRequest("type must be a media type such as image/png", "InvalidType");
  checkAgainstProfile(profile, { size: request.size, type });
  const method = chooseMethod(profile, request.size);
  const sha256 = normaliseSha256(request.sha256);
  await checkQuota(ctx, owner, request.size);

  const id = randomUUID();
  const name = normaliseName(request.name);
  const key = [profile.keyPrefix, keySegment(owner.tenant), keySegment(owner.user), id, keyName(name)]
    .filter(Boolean)
    .join("/");
  const now = Date.now();
  const expiresIn = profile.grantExpiry;
  const row: UploadRow = {
    id,
    tenant: owner.tenant,
    user_id: owner.user,
    profile: profileName,
    name,
    type,
    size: request.size,
    sha256,
    key,
    method,
    state: "pending",
    reason: null,
    multipart_id: null,
    part_size: null,
    part_count: null,
    etag: null,
    detected_type: null,
    created_at: now,
    updated_at: now,
    expires_at:
      now + (method === "multipart" ? Math.max(MULTIPART_LIFETIME_MS, expiresIn * 1000) : expiresIn * 1000),
    completed_at: null,
  };

  if (method === "multipart") {
    const plan = planParts(row.size, profile.partSize);
    row.multipart_id = await createMultipart(ctx, row);
    row.part_size = plan.partSize;
    row.part_count = plan.partCount;
  }
  await ctx.db.transaction().execute(async (trx) => {
    await insertUpload(trx, row);
    await auditUpload(trx, row, {
      action: "upload.grant",
      ip: options.ip,
      detail: { method, size: row.size, type, profile: profileName },
    });
  });
  ctx.metrics.inc("sluice_grants_total", { method }, "Upload grants issued");
  return signGrant(ctx, row, expiresIn);
}

async function createMultipart(ctx: BrokerContext, row: UploadRow): Promise<string> {
  try {
    const created = await ctx.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: ctx.target.bucket,
        Key: row.key,
        ContentType: row.type,
        Metadata: { "upload-id": row.id },
      }),
    );
    if (created.UploadId) return created.UploadId;
  } catch (error) {
    throw storageError(error);
  }
  throw storageError(new Error("CreateMultipartUpload returned no UploadId"));
}

/** The grant for a recorded upload: PUT URL, POST form, or the multipart plan (parts are signed lazily). */
function signGrant(ctx: BrokerContext, row: UploadRow, expiresIn: number): GrantResponse {
  const upload = uploadView(row);
  if (row.method === "put") return { upload, put: putGrant(ctx.target, { ...row, expiresIn }) };
  if (row.method === "post") return { upload, post: postGrant(ctx.target, { ...row, expiresIn }) };
  return { upload, multipart: { partSize: row.part_size!, partCount: row.part_count! } };
}

/** POST /v1/uploads/:id/grant: a fresh grant (new expiry) for an upload still pending. */
export async function reissueGrant(ctx: BrokerContext, row: UploadRow): Promise<GrantResponse> {
  if (row.state !== "pending") throw errors.conflict(`Upload is ${row.state}`, "UploadNotPending");
  const expiresIn = ctxProfile(ctx, row).grantExpiry;
  if (row.method !== "multipart") {
    const expiresAt = Date.now() + expiresIn * 1000;
    const renewed = await transitionUpload(ctx.db, {
      id: row.id,
      from: ["pending"],
      to: "pending",
      patch: { expires_at: expiresAt },
    });
    if (!renewed) throw errors.conflict("Upload is no longer pending", "UploadNotPending");
    row = renewed;
  }
  await auditUpload(ctx.db, row, { action: "upload.regrant" });
  return signGrant(ctx, row, expiresIn);
}
