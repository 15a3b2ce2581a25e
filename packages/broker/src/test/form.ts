// Helpers for form-grant tests: post a grant's fields and a file the way a
// browser submits a plain HTML form, and ask storage what it holds.
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { createS3Client, isNotFound } from "../storage/s3.ts";
import { storageTarget } from "../storage/target.ts";
import type { GrantJson, Harness } from "./harness.ts";

/** A valid 1×1 PNG (70 bytes). */
export const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a1d2a8f10000000049454e44ae426082",
  "hex",
);

/** An upload as the broker's JSON shows it, with what completion learns of a form's file. */
export interface UploadJson {
  id: string;
  state: string;
  name: string;
  type: string;
  size: number;
  key: string;
  reason: string | null;
}

/** The upload once completion and verification are over (waits up to 10 s, e.g. for a webhook). */
export async function settled(h: Harness, id: string): Promise<UploadJson> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const row = (await (await h.api(`/v1/uploads/${id}`)).json()) as UploadJson;
    if (!["pending", "uploaded"].includes(row.state) || Date.now() > deadline) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The grant's fields in order, then the file field, as a browser sends the form. */
export function formBody(fields: Record<string, string>, file: Uint8Array, filename: string): FormData {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  body.append("file", new Blob([file as Uint8Array<ArrayBuffer>]), filename);
  return body;
}

/** Posts the form to storage without following its redirect. */
export function postForm(g: Pick<GrantJson, "post">, file: Uint8Array, filename: string): Promise<Response> {
  return fetch(g.post.url, {
    method: "POST",
    body: formBody(g.post.fields, file, filename),
    redirect: "manual",
  });
}

/** Whether storage holds `key` (asked with the broker's own credentials). */
export async function stored(h: Harness, key: string): Promise<boolean> {
  const s3 = createS3Client(storageTarget(h.config));
  try {
    await s3.send(new HeadObjectCommand({ Bucket: h.config.storage.bucket, Key: key }));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  } finally {
    s3.destroy();
  }
}
