// POST grants (browser forms), one policy builder for both kinds:
// - `postGrant` (a script knows the file): exact key, exact size, Content-Type;
// - `formGrant` (a plain HTML form, no script): the browser only learns the
//   file when the user picks it, so the key is `{prefix}${filename}` under the
//   upload's own prefix, the size a range from the profile, no Content-Type
//   (the broker sniffs it after upload), and storage redirects back.
// Storage enforces every condition either way.
import { createPresignedPost, FILENAME_VARIABLE, type PolicyCondition } from "@sluice/sigv4";
import { publicObjectUrl, type StorageTarget } from "../storage/target.ts";

export interface PostGrant {
  url: string;
  /** Form fields to send before the file field. */
  fields: Record<string, string>;
}

function signPost(
  target: StorageTarget,
  options: {
    id: string;
    key: string;
    expiresIn: number;
    fields: Record<string, string>;
    size: { min: number; max: number };
    /** Server-side encryption fields, each an exact-match condition of the policy. */
    encryption: Record<string, string>;
  },
): PostGrant {
  const conditions: PolicyCondition[] = [["content-length-range", options.size.min, options.size.max]];
  return createPresignedPost({
    url: publicObjectUrl(target).replace(/\/$/, ""),
    bucket: target.bucket,
    key: options.key,
    credentials: target.credentials,
    region: target.region,
    expiresIn: options.expiresIn,
    fields: { ...options.fields, ...options.encryption, "x-amz-meta-upload-id": options.id },
    conditions,
  });
}

export function postGrant(
  target: StorageTarget,
  upload: {
    id: string;
    key: string;
    size: number;
    type: string;
    expiresIn: number;
    encryption: Record<string, string>;
  },
): PostGrant {
  return signPost(target, {
    id: upload.id,
    key: upload.key,
    expiresIn: upload.expiresIn,
    encryption: upload.encryption,
    fields: { "Content-Type": upload.type, success_action_status: "201" },
    size: { min: upload.size, max: upload.size },
  });
}

/**
 * A form grant. `prefix` ends in `/` and is the upload's alone; the policy
 * signs `["starts-with", "$key", prefix]`, so a form whose key field was
 * changed to anything outside it is refused by storage.
 */
export function formGrant(
  target: StorageTarget,
  upload: {
    id: string;
    prefix: string;
    minSize: number;
    maxSize: number;
    expiresIn: number;
    /** Absolute URL storage redirects the browser to (S3 appends bucket, key and etag). */
    redirect: string;
    encryption: Record<string, string>;
  },
): PostGrant {
  return signPost(target, {
    id: upload.id,
    encryption: upload.encryption,
    key: `${upload.prefix}${FILENAME_VARIABLE}`,
    expiresIn: upload.expiresIn,
    fields: { success_action_redirect: upload.redirect },
    size: { min: upload.minSize, max: upload.maxSize },
  });
}
