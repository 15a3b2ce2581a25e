// POST grant (browser forms): a policy that fixes the key, the exact size
// range, the Content-Type and the upload id; storage enforces every condition.
import { createPresignedPost } from "@sluice/sigv4";
import { publicObjectUrl, type StorageTarget } from "../storage/target.ts";

export interface PostGrant {
  url: string;
  /** Form fields to send before the file field. */
  fields: Record<string, string>;
}

export function postGrant(
  target: StorageTarget,
  upload: { id: string; key: string; size: number; type: string; expiresIn: number },
): PostGrant {
  return createPresignedPost({
    url: publicObjectUrl(target).replace(/\/$/, ""),
    bucket: target.bucket,
    key: upload.key,
    credentials: target.credentials,
    region: target.region,
    expiresIn: upload.expiresIn,
    fields: {
      "Content-Type": upload.type,
      "x-amz-meta-upload-id": upload.id,
      success_action_status: "201",
    },
    conditions: [["content-length-range", upload.size, upload.size]],
  });
}
