/** Single-request senders: a presigned PUT (signed headers sent exactly) or a POST policy form. */
import { SluiceError } from "@sluice/core";
import { type Body, concatBodies } from "../body.ts";
import type { UploadGrant } from "../broker-api.ts";
import { withRetries } from "../retry.ts";
import { storageRequest } from "../storage-request.ts";
import type { UploadContext } from "./context.ts";

export async function sendPut(
  context: UploadContext,
  grant: UploadGrant,
  /** Asks the broker for a fresh grant when storage says the URL expired. */
  regrant?: () => Promise<UploadGrant>,
): Promise<void> {
  let put = grant.put;
  if (!put) throw invalidGrant("PUT");
  const body = await context.source.whole();
  await withRetries({
    policy: context.retry,
    signal: context.signal,
    onRetry: (error, attempt) => context.onRetry?.({ code: error.code, attempt }),
    onResign: regrant
      ? async () => {
          put = (await regrant()).put ?? put;
        }
      : undefined,
    attempt: async () => {
      const response = await storageRequest({
        transport: context.transport,
        method: "PUT",
        url: put!.url,
        headers: put!.headers,
        body,
        signal: context.signal,
        meter: context.meter,
      });
      await response.text();
    },
  });
}

export async function sendPost(
  context: UploadContext,
  grant: UploadGrant,
  /** Asks the broker for a fresh grant when storage says the policy expired. */
  regrant?: () => Promise<UploadGrant>,
): Promise<void> {
  let post = grant.post;
  if (!post) throw invalidGrant("POST");
  const file = await context.source.whole();
  await withRetries({
    policy: context.retry,
    signal: context.signal,
    onRetry: (error, attempt) => context.onRetry?.({ code: error.code, attempt }),
    onResign: regrant
      ? async () => {
          post = (await regrant()).post ?? post;
        }
      : undefined,
    attempt: async () => {
      // Built per attempt: a re-issued grant brings new policy fields.
      const { body, contentType } = formBody({
        fields: post!.fields,
        file,
        name: context.source.name,
        type: context.source.type,
      });
      const response = await storageRequest({
        transport: context.transport,
        method: "POST",
        url: post!.url,
        headers: { "content-type": contentType },
        body,
        signal: context.signal,
        meter: context.meter,
      });
      await response.text();
    },
  });
}

/**
 * multipart/form-data with the policy fields first and the file last (S3
 * ignores fields after the file). Built by hand so Node can stream the file.
 */
export function formBody(options: {
  fields: Record<string, string>;
  file: Body;
  name: string;
  type: string;
}): {
  body: Body;
  contentType: string;
} {
  const boundary = `----sluice${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
  const encoder = new TextEncoder();
  let head = "";
  for (const [name, value] of Object.entries(options.fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quote(options.name)}"\r\n`;
  head += `Content-Type: ${options.type}\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  return {
    body: concatBodies([encoder.encode(head), options.file, encoder.encode(tail)]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

function quote(value: string): string {
  return value.replace(/["\r\n\\]/g, (c) => encodeURIComponent(c));
}

function invalidGrant(method: string): SluiceError {
  return new SluiceError({
    code: "InvalidGrant",
    status: 502,
    message: `Broker chose ${method} but sent no ${method} request`,
  });
}
