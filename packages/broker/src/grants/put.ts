// PUT grant: one presigned URL that pins size, type, checksum and write-once in
// its signed headers, so storage itself refuses anything else.
import { presignUrl } from "@sluice/sigv4";
import { publicObjectUrl, type StorageTarget } from "../storage/target.ts";

export interface PutGrant {
  url: string;
  /** Headers the client must send exactly (content-length follows from the body). */
  headers: Record<string, string>;
}

export function signedUploadHeaders(
  target: StorageTarget,
  upload: { size: number; type: string; sha256: string | null; encryption: Record<string, string> },
): Record<string, string> {
  const headers: Record<string, string> = {
    "content-length": String(upload.size),
    "content-type": upload.type,
    ...upload.encryption,
  };
  if (upload.sha256 && target.capabilities.checksums) {
    headers["x-amz-checksum-sha256"] = Buffer.from(upload.sha256, "hex").toString("base64");
  }
  if (target.capabilities.conditionalWrites) headers["if-none-match"] = "*";
  return headers;
}

/**
 * The headers a client repeats when it follows a redirect with its body
 * (curl -L -T, Python requests, Go): its own Content-Length and, when it sent
 * one, Content-Type. Nothing it would have to add (If-None-Match, checksums,
 * encryption) can be signed: the one-request route refuses profiles that need those.
 */
export function redirectedUploadHeaders(upload: {
  size: number;
  type: string | undefined;
}): Record<string, string> {
  return upload.type === undefined
    ? { "content-length": String(upload.size) }
    : { "content-length": String(upload.size), "content-type": upload.type };
}

export function putGrant(
  target: StorageTarget,
  upload: {
    key: string;
    size: number;
    type: string;
    sha256: string | null;
    expiresIn: number;
    /** Server-side encryption headers (grants/encryption.ts), signed like the rest. */
    encryption: Record<string, string>;
    /** Sign only what a redirected client repeats (the one-request route); its declared type, if any. */
    redirected?: { type: string | undefined };
  },
): PutGrant {
  const headers = upload.redirected
    ? redirectedUploadHeaders({ size: upload.size, type: upload.redirected.type })
    : signedUploadHeaders(target, upload);
  const url = presignUrl({
    method: "PUT",
    url: publicObjectUrl(target, upload.key),
    credentials: target.credentials,
    region: target.region,
    expiresIn: upload.expiresIn,
    headers,
  });
  return { url, headers };
}
