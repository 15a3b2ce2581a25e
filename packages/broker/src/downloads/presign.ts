// Presigned GETs for downloads: the owner's (minutes) and a share link's (seconds).
import { presignUrl } from "@sluice/sigv4";
import type { UploadRow } from "../db/schema.ts";
import { publicObjectUrl, type StorageTarget } from "../storage/target.ts";
import { contentDisposition } from "./disposition.ts";

/** A presigned GET of `file.key`, saved as `file.name` with `file.type`. */
export function downloadUrl(
  target: StorageTarget,
  file: Pick<UploadRow, "key" | "name" | "type">,
  expiresIn: number,
): string {
  const query = new URLSearchParams({
    "response-content-disposition": contentDisposition(file.name),
    "response-content-type": file.type,
  });
  return presignUrl({
    method: "GET",
    url: `${publicObjectUrl(target, file.key)}?${query.toString().replace(/\+/g, "%20")}`,
    credentials: target.credentials,
    region: target.region,
    expiresIn,
  });
}
