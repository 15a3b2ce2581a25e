// Batched deletes: one DeleteObjects request per 1000 keys. Sent with
// Content-MD5 (what S3 defined the call with) instead of the SDK's flexible
// CRC32 checksum, which Ceph RGW 16 and older MinIO refuse. A store that
// refuses the call itself gets one DELETE per key, a few at a time.
import { createHash } from "node:crypto";
import { DeleteObjectCommand, DeleteObjectsCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Logger } from "pino";
import { isNotFound } from "./s3.ts";

const KEYS_PER_REQUEST = 1000;
const PARALLEL_DELETES = 8;

/** Runs `task` on every item, at most `limit` at a time. */
export async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

type Handler = (args: { request: unknown }) => Promise<unknown>;

/** Replaces the body checksum by Content-MD5, just before the request is signed. */
const contentMd5 =
  (next: Handler): Handler =>
  async (args) => {
    const request = args.request as { headers?: Record<string, string>; body?: unknown };
    if (request.headers && typeof request.body === "string") {
      for (const name of Object.keys(request.headers)) {
        if (/^x-amz-(checksum-|sdk-checksum-algorithm)/i.test(name)) delete request.headers[name];
      }
      request.headers["content-md5"] = createHash("md5").update(request.body).digest("base64");
    }
    return next(args);
  };

function withContentMd5(command: DeleteObjectsCommand): DeleteObjectsCommand {
  // The SDK types middleware per step; this one only touches headers and body.
  command.middlewareStack.addRelativeTo(contentMd5 as never, {
    relation: "before",
    toMiddleware: "httpSigningMiddleware",
    name: "deleteObjectsContentMd5",
  });
  return command;
}

/** Deletes `keys` (missing ones count as deleted); returns how many could not be deleted (logged). */
export async function deleteObjects(
  options: { s3: S3Client; bucket: string; log: Logger },
  keys: readonly string[],
): Promise<number> {
  const { s3, bucket, log } = options;
  let failed = 0;
  for (let i = 0; i < keys.length; i += KEYS_PER_REQUEST) {
    const chunk = keys.slice(i, i + KEYS_PER_REQUEST);
    try {
      const result = await s3.send(
        withContentMd5(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const errors = (result.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (errors.length > 0)
        log.warn({ count: errors.length, err: errors[0]?.Code }, "could not delete objects");
      failed += errors.length;
    } catch (error) {
      log.info({ err: (error as Error).name }, "DeleteObjects refused: deleting one object at a time");
      await eachLimited(chunk, PARALLEL_DELETES, async (Key) => {
        try {
          await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
        } catch (e) {
          if (isNotFound(e)) return;
          failed++;
          log.warn({ err: (e as Error).name, key: Key }, "could not delete object");
        }
      });
    }
  }
  return failed;
}
