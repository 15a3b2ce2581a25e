/** Single-request senders: a presigned PUT (signed headers sent exactly) or a POST policy form. */
import { SluiceError } from "@sluice/core";
import { type Body, concatBodies } from "../body.ts";
import type { UploadGrant } from "../broker-api.ts";
import { withRetries } from "../retry.ts";
import { storageRequest } from "../storage-request.ts";
import type { UploadContext } from "./context.ts";

/**
 * Sends the whole file in one request, retried per the policy; when storage
 * says the URL or policy expired, the broker re-issues the grant first.
 */
export async function sendSingle(
  context: UploadContext,
  options: { grant: UploadGrant; method: "put" | "post"; regrant?: () => Promise<UploadGrant> },
): Promise<void> {
  const { regrant } = options;
  let grant = options.grant;
  let attempts = 0;
  const file = await context.source.whole();
  await withRetries({
    policy: context.retry,
    signal: context.signal,
    onRetry: (error, attempt) => context.onRetry?.({ code: error.code, attempt }),
    onResign: regrant
      ? async () => {
          grant = await regrant();
        }
      : undefined,
    attempt: async () => {
      attempts++;
      const request = options.method === "put" ? putRequest(grant, file) : postRequest(context, grant, file);
      try {
        const response = await storageRequest({
          transport: context.transport,
          ...request,
          signal: context.signal,
          meter: context.meter,
        });
        await response.text();
      } catch (error) {
        // The grant is write-once (If-None-Match: *): a retry refused with 412 means
        // an earlier attempt was stored and its answer lost. Completion asks the
        // broker, whose check of the object (size, checksum) decides.
        if (!(attempts > 1 && options.method === "put" && isPreconditionFailed(error))) throw error;
        context.meter.add(context.source.size);
      }
    },
  });
}

function isPreconditionFailed(error: unknown): boolean {
  return error instanceof SluiceError && error.status === 412;
}

function putRequest(grant: UploadGrant, body: Body) {
  if (!grant.put) throw invalidGrant("PUT");
  return { method: "PUT", url: grant.put.url, headers: grant.put.headers, body };
}

/** Built per attempt: a re-issued grant brings new policy fields. */
function postRequest(context: UploadContext, grant: UploadGrant, file: Body) {
  if (!grant.post) throw invalidGrant("POST");
  const { body, contentType } = formBody({
    fields: grant.post.fields,
    file,
    name: context.source.name,
    type: context.source.type,
  });
  return { method: "POST", url: grant.post.url, headers: { "content-type": contentType }, body };
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
