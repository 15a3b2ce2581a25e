// POST /v1/uploads: validate against the profile and quotas, make the key,
// record the pending upload, and sign the grant for the chosen method.
import { randomUUID } from "node:crypto";
import { CreateMultipartUploadCommand } from "@aws-sdk/client-s3";
import { errors, ownValue } from "@sluice/core";
import type { Principal } from "../auth/principal.ts";
import type { BrokerContext } from "../context.ts";
import { auditUpload } from "../db/audit.ts";
import type { UploadRow } from "../db/schema.ts";
import { insertUpload, transitionUpload } from "../db/uploads.ts";
import { encryptionHeaders, encryptionParams } from "../grants/encryption.ts";
import { planParts } from "../grants/multipart.ts";
import { keyName, keySegment, normaliseName } from "../grants/name.ts";
import { formGrant, type PostGrant, postGrant } from "../grants/post.ts";
import { checkAgainstProfile, chooseMethod, MAX_SINGLE_UPLOAD, parseMediaType } from "../grants/profile.ts";
import { type PutGrant, putGrant } from "../grants/put.ts";
import { storageError } from "../storage/target.ts";
import { removeStorage } from "./complete.ts";
import { checkMetadata, insertMetadataRows, type Metadata, readMetadata } from "./metadata.ts";
import { ctxProfile } from "./profile.ts";
import { incomingPrefix, quarantineKey } from "./quarantine.ts";
import { checkQuota, withinQuota } from "./quota.ts";
import { type UploadView, uploadView } from "./view.ts";

export interface CreateUploadRequest {
  profile?: string;
  name: string;
  size: number;
  type: string;
  /** Hex or base64 SHA-256 of the whole file. */
  sha256?: string;
  /** The application's context, checked against the profile's rules. */
  metadata?: Metadata;
  /** Context only a server key may set. */
  serverMetadata?: Metadata;
}

export interface GrantResponse {
  upload: UploadView;
  put?: PutGrant;
  post?: PostGrant;
  multipart?: { partSize: number; partCount: number };
}

export function normaliseSha256(value: string | undefined): string | null {
  if (value === undefined) return null;
  if (/^[0-9a-f]{64}$/i.test(value)) return value.toLowerCase();
  const bytes = Buffer.from(value, "base64");
  if (bytes.length === 32 && bytes.toString("base64") === value) return bytes.toString("hex");
  throw errors.badRequest("sha256 must be 64 hex digits or the base64 of 32 bytes", "InvalidChecksum");
}

function pickProfile(ctx: BrokerContext, name: string | undefined, owner: Principal) {
  const profiles = ctx.config.profiles;
  const chosen =
    name ??
    (profiles.default
      ? "default"
      : Object.keys(profiles).length === 1
        ? Object.keys(profiles)[0]
        : undefined);
  const profile = chosen === undefined ? undefined : ownValue(profiles, chosen);
  if (!chosen || !profile)
    throw errors.badRequest(
      name ? `Unknown profile ${JSON.stringify(name)}` : "profile is required",
      "UnknownProfile",
    );
  if (owner.profiles && !owner.profiles.includes(chosen))
    throw errors.forbidden(`This token may not upload with profile ${chosen}`, "ProfileNotAllowed");
  return { name: chosen, profile };
}

/** The upload's folder: `[keyPrefix/]tenant/user/id`; the file is stored at `{folder}/{safe name}`. */
export function uploadFolder(options: { owner: Principal; keyPrefix?: string; id: string }): string {
  const { owner, keyPrefix, id } = options;
  return [keyPrefix, keySegment(owner.tenant), keySegment(owner.user), id].filter(Boolean).join("/");
}

function pendingRow(options: {
  id: string;
  owner: Principal;
  profile: string;
  file: Pick<UploadRow, "name" | "type" | "size" | "sha256">;
  key: string;
  incomingKey: string;
  method: UploadRow["method"];
  lifetimeMs: number;
}): UploadRow {
  const now = Date.now();
  return {
    ...options.file,
    id: options.id,
    tenant: options.owner.tenant,
    user_id: options.owner.user,
    profile: options.profile,
    key: options.key,
    incoming_key: options.incomingKey,
    method: options.method,
    state: "pending",
    reason: null,
    multipart_id: null,
    part_size: null,
    part_count: null,
    etag: null,
    detected_type: null,
    created_at: now,
    updated_at: now,
    expires_at: now + options.lifetimeMs,
    completed_at: null,
    metadata: null,
    server_metadata: null,
  };
}

/**
 * Records a pending upload and audits the grant in one transaction, with its
 * bytes (`reserve`) and its pending slot taken from the user's quota.
 */
async function recordGrant(
  ctx: BrokerContext,
  options: { row: UploadRow; reserve: number; ip?: string; detail: Record<string, unknown> },
): Promise<void> {
  const { row } = options;
  const owner = { tenant: row.tenant, user: row.user_id };
  const quota = { quotas: ctx.config.quotas, owner, size: options.reserve, pending: true };
  await withinQuota(ctx.db, quota, async (trx) => {
    await insertUpload(trx, row);
    await insertMetadataRows(trx, {
      uploadId: row.id,
      metadata: readMetadata(row.metadata),
      serverMetadata: readMetadata(row.server_metadata),
    });
    await auditUpload(trx, row, { action: "upload.grant", ip: options.ip, detail: options.detail });
  });
  ctx.metrics.inc("sluice_grants_total", { method: row.method }, "Upload grants issued");
}

export async function createUpload(
  ctx: BrokerContext,
  options: {
    owner: Principal;
    request: CreateUploadRequest;
    ip?: string;
    /** One request (PUT /v1/put): a single PUT whatever the size, signed for a redirected client. */
    redirected?: { type: string | undefined };
  },
): Promise<GrantResponse> {
  const { owner, request } = options;
  const { name: profileName, profile } = pickProfile(ctx, request.profile, owner);
  const type = parseMediaType(request.type);
  if (!type) throw errors.badRequest("type must be a media type such as image/png", "InvalidType");
  checkAgainstProfile(profile, { size: request.size, type });
  if (request.serverMetadata && !owner.server)
    throw errors.forbidden("serverMetadata is set by server keys only", "ServerMetadataForbidden");
  checkMetadata(profile, request.metadata ?? {});
  const method = options.redirected ? "put" : chooseMethod(profile, request.size);
  const sha256 = normaliseSha256(request.sha256);
  // Fails early without a lock; recordGrant checks again atomically.
  await checkQuota(ctx.db, { quotas: ctx.config.quotas, owner, size: request.size, pending: true });

  const id = randomUUID();
  const name = normaliseName(request.name);
  const expiresIn = profile.grantExpiry;
  const folder = uploadFolder({ owner, keyPrefix: profile.keyPrefix, id });
  const row = pendingRow({
    id,
    owner,
    profile: profileName,
    file: { name, type, size: request.size, sha256 },
    key: `${folder}/${keyName(name)}`,
    incomingKey: quarantineKey(folder, keyName(name)),
    method,
    // Multipart uploads may take long (profile.multipartLifetime); their part URLs are signed lazily.
    lifetimeMs: (method === "multipart" ? Math.max(profile.multipartLifetime, expiresIn) : expiresIn) * 1000,
  });
  if (request.metadata) row.metadata = JSON.stringify(request.metadata);
  if (request.serverMetadata) row.server_metadata = JSON.stringify(request.serverMetadata);

  if (method === "multipart") {
    const plan = planParts(row.size, profile.partSize);
    row.multipart_id = await createMultipart(ctx, row);
    row.part_size = plan.partSize;
    row.part_count = plan.partCount;
  }
  await recordGrant(ctx, {
    row,
    reserve: row.size,
    ip: options.ip,
    detail: { method, size: row.size, type, profile: profileName },
  }).catch(async (error) => {
    if (row.multipart_id) await removeStorage(ctx, row);
    throw error;
  });
  return signGrant(ctx, row, { expiresIn, redirected: options.redirected });
}

export interface CreateFormUploadRequest {
  profile?: string;
  /** Where storage sends the browser after the upload: `?upload=<id>` is added. */
  redirect: URL;
}

/**
 * A form grant (no script: name, size and type are unknown until the file is
 * stored). The record holds the grant's key prefix until completion finds the
 * object under it (uploads/form.ts).
 */
export async function createFormUpload(
  ctx: BrokerContext,
  options: { owner: Principal; request: CreateFormUploadRequest; ip?: string },
): Promise<GrantResponse> {
  const { owner, request } = options;
  const { name: profileName, profile } = pickProfile(ctx, request.profile, owner);
  const id = randomUUID();
  const expiresIn = profile.grantExpiry;
  const row = pendingRow({
    id,
    owner,
    profile: profileName,
    file: { name: "", type: "application/octet-stream", size: 0, sha256: null },
    // Until completion finds the file, both keys are the grant's prefix.
    key: incomingPrefix(uploadFolder({ owner, keyPrefix: profile.keyPrefix, id })),
    incomingKey: incomingPrefix(uploadFolder({ owner, keyPrefix: profile.keyPrefix, id })),
    method: "form",
    lifetimeMs: expiresIn * 1000,
  });
  // The file's size is only known at completion (uploads/form.ts checks it then); the profile's minimum now.
  await recordGrant(ctx, {
    row,
    reserve: profile.minSize,
    ip: options.ip,
    detail: { method: "form", profile: profileName },
  });
  const redirect = new URL(request.redirect);
  redirect.hash = "";
  redirect.searchParams.set("upload", id);
  // S3 and the embedded store add bucket, key and etag with `&` to a URL that has
  // a query; Ceph RGW 16 adds `?bucket=…` regardless. The trailing `&` keeps
  // `upload` whole either way (`?upload=<id>&?bucket=…` on RGW).
  return signGrant(ctx, row, { expiresIn, redirect: `${redirect.href}&` });
}

async function createMultipart(ctx: BrokerContext, row: UploadRow): Promise<string> {
  try {
    const created = await ctx.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: ctx.target.bucket,
        Key: row.incoming_key,
        ContentType: row.type,
        Metadata: { "upload-id": row.id },
        ...encryptionParams(ctxProfile(ctx, row)),
      }),
    );
    if (created.UploadId) return created.UploadId;
  } catch (error) {
    throw storageError(error);
  }
  throw storageError(new Error("CreateMultipartUpload returned no UploadId"));
}

/** The grant for a recorded upload: PUT URL, POST form, or the multipart plan (parts are signed lazily). */
function signGrant(
  ctx: BrokerContext,
  row: UploadRow,
  options: { expiresIn: number; redirect?: string; redirected?: { type: string | undefined } },
): GrantResponse {
  const { expiresIn } = options;
  const upload = uploadView(row);
  const profile = ctxProfile(ctx, row);
  const encryption = encryptionHeaders(profile);
  // Grants write quarantine only (uploads/quarantine.ts).
  const key = row.incoming_key;
  if (row.method === "put")
    return {
      upload,
      put: putGrant(ctx.target, { ...row, key, expiresIn, encryption, redirected: options.redirected }),
    };
  if (row.method === "post")
    return { upload, post: postGrant(ctx.target, { ...row, key, expiresIn, encryption }) };
  if (row.method === "form") {
    if (!options.redirect) throw errors.conflict("Form grants are not re-issued", "FormGrant");
    const post = formGrant(ctx.target, {
      encryption,
      id: row.id,
      prefix: key,
      minSize: profile.minSize,
      maxSize: Math.min(profile.maxSize, MAX_SINGLE_UPLOAD),
      expiresIn,
      redirect: options.redirect,
    });
    return { upload, post };
  }
  return { upload, multipart: { partSize: row.part_size!, partCount: row.part_count! } };
}

/** POST /v1/uploads/:id/grant: a fresh grant (new expiry) for an upload still pending. */
export async function reissueGrant(ctx: BrokerContext, row: UploadRow): Promise<GrantResponse> {
  if (row.state !== "pending") throw errors.conflict(`Upload is ${row.state}`, "UploadNotPending");
  // Its redirect belongs to the page that showed the form: that page asks for a new one.
  if (row.method === "form") throw errors.conflict("Form grants are not re-issued", "FormGrant");
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
  return signGrant(ctx, row, { expiresIn });
}
